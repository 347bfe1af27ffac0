import assert from 'node:assert/strict';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import jsonata from 'jsonata';
import { describe, it } from 'vitest';
import { refundBindingMark } from '#adapters/tables.ts';
import { financeTables, statementPrefixes } from '#finance/catalog.ts';
import { MicropayGateway } from '../../lib/micropay-gateway.ts';
import { templateApp } from '../support/cdk.ts';
import { type AwsCall, awsCallsOf, bundledCalls, libraryCalls } from './aws-calls.ts';

/**
 * Every AWS call is granted, and no more (issue 20). Each function's calls are found from its code
 * (test/infra/aws-calls.ts), each state machine's from its ASL; the synthesized roles must allow exactly
 * those, plus the logging and tracing grants CDK adds.
 */

const region = 'ap-east-1';
const account = '123456789012';
const app = templateApp();
const stack = new Stack(app, 'Micropay-test', { env: { account, region } });
const gateway = new MicropayGateway(stack, 'Gateway');

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown> & { [key: string]: never };
}
const cfn = Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>;
const idsOf = (type: string) => Object.keys(cfn).filter((id) => cfn[id]?.Type === type);
const propertiesOf = (id: string) => (cfn[id]?.Properties ?? {}) as Record<string, unknown>;

// ---- CloudFormation values as the strings they become at deploy (a resource's name stands for its own).

const pseudo: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': region,
  'AWS::AccountId': account,
  'AWS::URLSuffix': 'amazonaws.com',
};

function nameOfResource(id: string): string {
  const p = propertiesOf(id);
  const name = p.TableName ?? p.StateMachineName ?? p.FunctionName ?? p.RoleName ?? p.BucketName ?? p.Name;
  return typeof name === 'string' ? name : id;
}

function arnOfResource(id: string): string {
  const name = nameOfResource(id);
  const arns: Record<string, string> = {
    'AWS::DynamoDB::Table': `arn:aws:dynamodb:${region}:${account}:table/${name}`,
    'AWS::Lambda::Function': `arn:aws:lambda:${region}:${account}:function:${name}`,
    'AWS::IAM::Role': `arn:aws:iam::${account}:role/${name}`,
    'AWS::S3::Bucket': `arn:aws:s3:::${name}`,
    'AWS::StepFunctions::StateMachine': `arn:aws:states:${region}:${account}:stateMachine:${name}`,
    'AWS::Events::Rule': `arn:aws:events:${region}:${account}:rule/${name}`,
  };
  const arn = arns[cfn[id]?.Type ?? ''];
  if (!arn) throw new Error(`no ARN known for ${id} (${cfn[id]?.Type})`);
  return arn;
}

/** What `Ref` returns: an ARN for the types whose Ref is their ARN, else the name. */
const refArnTypes = new Set(['AWS::StepFunctions::StateMachine', 'AWS::SNS::Topic']);

function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const [[fn, arg] = []] = Object.entries(value as object);
  if (fn === 'Ref') {
    const id = arg as string;
    return pseudo[id] ?? (refArnTypes.has(cfn[id]?.Type ?? '') ? arnOfResource(id) : nameOfResource(id));
  }
  if (fn === 'Fn::GetAtt' && (arg as string[])[1] === 'Arn')
    return arnOfResource((arg as string[])[0] as string);
  if (fn === 'Fn::Join') return (arg as [string, unknown[]])[1].map(resolve).join((arg as [string])[0]);
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

// ---- What a role allows, as one line per action, resource and condition value.

type Statement = {
  Effect: string;
  Action?: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  NotAction?: unknown;
  NotResource?: unknown;
};

/** A condition as lines: one per value of a single key (IAM ORs them), so statements compare line by line. */
function conditionLines(condition: Statement['Condition']): string[] {
  if (!condition) return [''];
  const entries = Object.entries(condition).flatMap(([operator, keys]) =>
    Object.entries(keys).map(([key, values]) => ({ operator, key, values: [values].flat().map(resolve) })),
  );
  const [only] = entries;
  if (entries.length === 1 && only)
    return only.values.map((value) => ` if ${only.operator} ${only.key}=${value}`);
  return [` if ${JSON.stringify(entries)}`];
}

function linesOf(statements: readonly Statement[]): string[] {
  return statements.flatMap((statement) => {
    assert.equal(statement.Effect, 'Allow', `a Deny is not understood here: ${JSON.stringify(statement)}`);
    assert.ok(
      !statement.NotAction && !statement.NotResource,
      `NotAction/NotResource: ${JSON.stringify(statement)}`,
    );
    const actions = [statement.Action ?? []].flat();
    const resources = [statement.Resource ?? []].flat().map(resolve);
    return actions.flatMap((action) =>
      resources.flatMap((resource) =>
        conditionLines(statement.Condition).map((condition) => `${action} ${resource}${condition}`),
      ),
    );
  });
}

/** Every statement a role's identity policies allow, and the managed policies attached to it. */
function roleGrants(roleId: string): { lines: string[]; managed: string[] } {
  const attached = (p: Record<string, unknown>) =>
    ((p.Roles as unknown[] | undefined) ?? []).some(
      (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }),
    );
  const documents = [
    ...idsOf('AWS::IAM::Policy').map(propertiesOf).filter(attached),
    ...idsOf('AWS::IAM::ManagedPolicy').map(propertiesOf).filter(attached),
    ...((propertiesOf(roleId).Policies as Record<string, unknown>[] | undefined) ?? []),
  ].map((p) => p.PolicyDocument as { Statement: Statement[] });
  return {
    lines: linesOf(documents.flatMap((d) => d.Statement)).sort(),
    managed: ((propertiesOf(roleId).ManagedPolicyArns as unknown[] | undefined) ?? []).map(resolve).sort(),
  };
}

const roleOf = (id: string, property = 'Role') => {
  const role = propertiesOf(id)[property] as { 'Fn::GetAtt'?: [string, string] };
  const roleId = role?.['Fn::GetAtt']?.[0];
  assert.ok(roleId, `${id} has a role of this stack`);
  return roleId;
};

function assertExactly(
  roleId: string,
  expected: readonly string[],
  why: Readonly<Record<string, string>> = {},
) {
  const actual = roleGrants(roleId).lines;
  const want = [...new Set(expected)].sort();
  const missing = want.filter((line) => !actual.includes(line));
  const extra = actual.filter((line) => !want.includes(line));
  const show = (lines: string[]) =>
    lines.map((line) => `\n  ${line}${why[line] ? `  <- ${why[line]}` : ''}`).join('');
  if (missing.length > 0 || extra.length > 0)
    assert.fail(
      `${roleId}:${missing.length ? `\n not granted, yet called:${show(missing)}` : ''}${extra.length ? `\n granted, yet never called:${show(extra)}` : ''}`,
    );
}

// ---- Lambda functions: the calls their code makes.

/** Each function of the stack with its handler file (the entry lib/ gives lambdaFunction). */
const functions = [
  { name: 'api', entry: 'functions/api/handler.ts', fn: gateway.merchantApi.handler },
  { name: 'settle', entry: 'functions/settle/handler.ts', fn: gateway.settlement.settleFunction },
  { name: 'sweep', entry: 'functions/sweep/handler.ts', fn: gateway.settlement.sweepFunction },
  {
    name: 'reconcile accounts',
    entry: 'functions/reconcile/accounts/handler.ts',
    fn: gateway.reconciliation.accountsFunction,
  },
  {
    name: 'reconcile fetch',
    entry: 'functions/reconcile/fetch/handler.ts',
    fn: gateway.reconciliation.fetchFunction,
  },
  {
    name: 'reconcile record',
    entry: 'functions/reconcile/record/handler.ts',
    fn: gateway.reconciliation.recordFunction,
  },
  {
    name: 'reconcile publish',
    entry: 'functions/reconcile/publish/handler.ts',
    fn: gateway.reconciliation.publishFunction,
  },
].map((f) => ({ ...f, id: stack.getLogicalId(f.fn.node.defaultChild as CfnFunction) }));

/**
 * Where each resource an SDK call names comes from: the property the adapter reads it from, and the
 * environment variable runtime.ts fills that property from (the stack sets the variable).
 */
const bindings: Readonly<Record<string, string>> = {
  'DynamoOrderTables.table': 'ORDERS_TABLE',
  'DynamoOrderTables.wakeups': 'WAKEUPS_TABLE',
  'MerchantDirectoryOptions.table': 'MERCHANTS_TABLE',
  'StepFunctionsWorkflow.stateMachineArn': 'SETTLEMENT_STATE_MACHINE_ARN',
  'S3StatementStoreOptions.bucket': 'STATEMENTS_BUCKET',
  SecretsProvider: 'MERCHANT_SECRET_PREFIX',
};

/**
 * The key prefix each S3 call is made under, by the method that makes it: IAM scopes object calls to it, and a
 * listing by the `s3:prefix` it asks for (statements/ keys, finance/catalog.ts `statementKeys`).
 */
const objectScoped: Readonly<Record<string, string>> = {
  'S3StatementStore.has': statementPrefixes.raw,
  'S3StatementStore.putRaw': statementPrefixes.raw,
  'S3StatementStore.putRows': statementPrefixes.rows,
  'S3StatementStore.record': statementPrefixes.accounts,
};

/** Calls IAM narrows to some keys: the API deletes only refund-number bindings (`adapters/tables.ts`), never an order. */
const keyScoped: Readonly<Record<string, string>> = {
  'DynamoOrderTables.deleteBinding': ` if ForAllValues:StringLike dynamodb:LeadingKeys=*${refundBindingMark}*`,
};

/**
 * The ARN IAM checks for a call on what the variable holds (a table name, a state machine ARN, a secret prefix, a
 * bucket), with the condition it narrows to; `method` is where the call is made.
 */
function resourceArn(action: string, value: string, method: string): string {
  const service = action.split(':')[0];
  if (service === 'dynamodb') return `arn:aws:dynamodb:${region}:${account}:table/${value}`;
  if (service === 'secretsmanager') return `arn:aws:secretsmanager:${region}:${account}:secret:${value}*`;
  if (service === 's3') {
    const prefix = Object.entries(objectScoped).find(([site]) => method === site)?.[1];
    assert.ok(prefix, `${method}: no key prefix known for its ${action}; add it to objectScoped`);
    return action === 's3:ListBucket'
      ? `arn:aws:s3:::${value} if StringLike s3:prefix=${prefix}*`
      : `arn:aws:s3:::${value}/${prefix}*`;
  }
  if (service === 'states') return value;
  throw new Error(`no resource ARN rule for ${action}`);
}

let analysed: ReturnType<typeof awsCallsOf> | undefined;
/** The call graph takes a second or two (tsgo loads the functions' program): made once, for all cases. */
const callsOf = (entry: string) => {
  analysed ??= awsCallsOf(
    functions.map((f) => f.entry),
    new Set(Object.keys(bindings).filter((key) => key.includes('.'))),
  );
  const found = analysed.get(entry);
  assert.ok(found);
  return found;
};

const lambdaBasicExecution = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

describe('Lambda roles', () => {
  it('are one per function, and every function of the stack is listed here with its handler', () => {
    assert.deepEqual(idsOf('AWS::Lambda::Function').sort(), functions.map((f) => f.id).sort());
  });

  for (const { name, entry, id } of functions) {
    it(`let ${name} make exactly the AWS calls its code makes, on the resources it names`, () => {
      const variables = (propertiesOf(id).Environment as { Variables: Record<string, unknown> }).Variables;
      const why: Record<string, string> = {};
      const expected = callsOf(entry).calls.map((call: AwsCall) => {
        const variable = bindings[call.resource];
        assert.ok(
          variable && variables[variable] !== undefined,
          `${call.site}: no variable gives ${call.resource}`,
        );
        const method = call.site.split(' ').pop() ?? '';
        const scope = Object.entries(keyScoped).find(([site]) => method.startsWith(site))?.[1] ?? '';
        const line = `${call.action} ${resourceArn(call.action, resolve(variables[variable]), method)}${scope}`;
        why[line] = call.site;
        return line;
      });
      const roleId = roleOf(id);
      const tracing = (propertiesOf(id).TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active';
      if (tracing) expected.push('xray:PutTelemetryRecords *', 'xray:PutTraceSegments *');
      assertExactly(roleId, expected, why);
      // CDK's logging grant: the function's own log streams.
      assert.deepEqual(roleGrants(roleId).managed, [lambdaBasicExecution]);
    });

    it(`finds in ${name}'s bundle no SDK call the code analysis cannot see`, async () => {
      const bundle = await bundledCalls(entry);
      const known = new Set(callsOf(entry).commandsInModules);
      for (const [pkg, classes] of Object.entries(libraryCalls))
        if (bundle.packages.has(pkg))
          for (const calls of Object.values(classes)) for (const c of calls) known.add(c.action);
      const unseen = [...bundle.actions].filter((action) => !known.has(action));
      assert.deepEqual(
        unseen,
        [],
        `${entry} bundles SDK commands made outside the analysed code (a library?): ${unseen.join(', ')}; declare them in libraryCalls`,
      );
    });
  }

  it('let only what invokes each function invoke it: its API routes, its schedule, its state machine', () => {
    const invokers = new Map<string, string[]>();
    const add = (fnId: string, line: string) => invokers.set(fnId, [...(invokers.get(fnId) ?? []), line]);
    const fnIdOf = (value: unknown) => functions.find((f) => resolve(value) === arnOfResource(f.id))?.id;
    for (const rule of idsOf('AWS::Events::Rule'))
      for (const target of propertiesOf(rule).Targets as { Arn: unknown }[]) {
        const fnId = fnIdOf(target.Arn);
        if (fnId) add(fnId, `events.amazonaws.com ${arnOfResource(rule)}`);
      }
    for (const route of idsOf('AWS::ApiGatewayV2::Route')) {
      const { RouteKey, Target, ApiId } = propertiesOf(route) as {
        RouteKey: string;
        Target: unknown;
        ApiId: unknown;
      };
      const integration = idsOf('AWS::ApiGatewayV2::Integration').find((i) =>
        resolve(Target).endsWith(`integrations/${i}`),
      );
      const fnId = integration && fnIdOf(propertiesOf(integration).IntegrationUri);
      // CDK allows any stage and method of the route's path; the API has one stage and POST routes only.
      if (fnId)
        add(
          fnId,
          `apigateway.amazonaws.com arn:aws:execute-api:${region}:${account}:${resolve(ApiId)}/*/*${RouteKey.split(' ')[1]}`,
        );
    }
    const granted = new Map<string, string[]>();
    for (const permission of idsOf('AWS::Lambda::Permission')) {
      const p = propertiesOf(permission) as {
        Action: string;
        FunctionName: unknown;
        Principal: string;
        SourceArn: unknown;
      };
      assert.equal(p.Action, 'lambda:InvokeFunction');
      const fnId = fnIdOf(p.FunctionName);
      assert.ok(fnId, `${permission} is on a function of this stack`);
      granted.set(fnId, [...(granted.get(fnId) ?? []), `${p.Principal} ${resolve(p.SourceArn)}`]);
    }
    for (const { id } of functions)
      assert.deepEqual(
        (granted.get(id) ?? []).sort(),
        (invokers.get(id) ?? []).sort(),
        `who may invoke ${id}`,
      );
  });
});

// ---- State machines: what their Tasks call, from the ASL the stack deploys.

interface Task {
  readonly name: string;
  readonly resource: string;
  readonly args: Record<string, unknown>;
  /** The role the Task runs as (`Credentials.RoleArn`), if not the machine's. */
  readonly role?: string;
}

/** The deployed definition (substitutions applied) and its Tasks, Map and Parallel branches included. */
function tasksOf(machineId: string): Task[] {
  const p = propertiesOf(machineId) as {
    DefinitionString: unknown;
    DefinitionSubstitutions?: Record<string, unknown>;
  };
  let definition = resolve(p.DefinitionString);
  for (const [name, value] of Object.entries(p.DefinitionSubstitutions ?? {}))
    definition = definition.replaceAll(`\${${name}}`, resolve(value));
  const tasks: Task[] = [];
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        const credentials = state.Credentials as { RoleArn?: string } | undefined;
        tasks.push({
          name,
          resource: state.Resource as string,
          args: (state.Arguments ?? state.Parameters ?? {}) as Record<string, unknown>,
          role: credentials?.RoleArn,
        });
      }
      for (const branch of (state.Branches as { States: never }[] | undefined) ?? []) visit(branch.States);
      const inner = (state.ItemProcessor ?? state.Iterator) as { States: never } | undefined;
      if (inner) visit(inner.States);
    }
  };
  visit((JSON.parse(definition) as { States: never }).States);
  return tasks;
}

/** The literal part a JSONata string starts with (`{% 'curated/orders/dt=' & $dt %}`), cut at its last `/`. */
function staticPrefix(value: unknown): string {
  const text = String(value);
  const literal = text.startsWith('{%') ? (/^\{%\s*'([^']*)'/.exec(text)?.[1] ?? '') : text;
  return literal.slice(0, literal.lastIndexOf('/') + 1);
}

const capitalized = (api: string) => api[0]?.toUpperCase() + api.slice(1);
/** IAM's name for an SDK integration's API where it differs from the API's own. */
const iamNames: Readonly<Record<string, string>> = {
  's3:listObjectsV2': 's3:ListBucket',
  's3:deleteObjects': 's3:DeleteObject',
};

/**
 * What a Task calls, as `action resource[ if condition]` lines: its API, and what the service then does with
 * the Task's credentials (DynamoDB writes the export to S3 as the caller). `tasks` are the machine's others:
 * a describeExport names an export of a table the machine exports, a deleteObjects keys the machine listed.
 */
function callsOfTask(task: Task, tasks: readonly Task[]): string[] {
  const { resource, args } = task;
  if (resource.startsWith('arn:aws:lambda:')) return [`lambda:InvokeFunction ${resource}`];
  if (resource === 'arn:aws:states:::lambda:invoke') return [`lambda:InvokeFunction ${args.FunctionName}`];
  const athena = /^arn:aws:states:::athena:startQueryExecution(\.sync)?$/.exec(resource);
  if (athena) {
    const workGroup = `arn:aws:athena:${region}:${account}:workgroup/${args.WorkGroup}`;
    // .sync polls the query and stops it when the execution is stopped.
    const apis = athena[1]
      ? ['StartQueryExecution', 'GetQueryExecution', 'StopQueryExecution']
      : ['StartQueryExecution'];
    return apis.map((api) => `athena:${api} ${workGroup}`);
  }
  const sdk = /^arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/.exec(resource);
  assert.ok(sdk, `${task.name}: no IAM rule for Task resource ${resource}`);
  const [, service, api] = sdk as unknown as [string, string, string];
  const action = iamNames[`${service}:${api}`] ?? `${service}:${capitalized(api)}`;
  const others = (api: string) => tasks.filter((t) => t.resource.endsWith(`:${api}`));
  switch (`${service}:${api}`) {
    case 'dynamodb:exportTableToPointInTime': {
      const objects = `arn:aws:s3:::${args.S3Bucket}/${staticPrefix(args.S3Prefix)}*`;
      return [
        `${action} ${args.TableArn}`,
        ...['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'].map((a) => `${a} ${objects}`),
      ];
    }
    case 'dynamodb:describeExport':
      return others('exportTableToPointInTime').map((t) => `${action} ${t.args.TableArn}/export/*`);
    case 's3:listObjectsV2':
      return [`${action} arn:aws:s3:::${args.Bucket} if StringLike s3:prefix=${staticPrefix(args.Prefix)}*`];
    case 's3:deleteObjects':
      return others('listObjectsV2')
        .filter((t) => t.args.Bucket === args.Bucket)
        .map((t) => `${action} arn:aws:s3:::${args.Bucket}/${staticPrefix(t.args.Prefix)}*`);
    case 'athena:getQueryResults':
      // The results of the machine's queries: read in their workgroup, from its results location.
      return queriesOf(tasks).flatMap((t) => [
        `${action} arn:aws:athena:${region}:${account}:workgroup/${t.args.WorkGroup}`,
        `s3:GetObject ${resultsOf(String(t.args.WorkGroup))}*`,
      ]);
  }
  throw new Error(`${task.name}: no resource rule for ${service}:${api}`);
}

/** What CDK grants a state machine's role for its logging and tracing configuration. */
function machineBaseline(machineId: string): string[] {
  const p = propertiesOf(machineId);
  const logs = p.LoggingConfiguration
    ? [
        'CreateLogDelivery',
        'GetLogDelivery',
        'UpdateLogDelivery',
        'DeleteLogDelivery',
        'ListLogDeliveries',
        'PutResourcePolicy',
        'DescribeResourcePolicies',
        'DescribeLogGroups',
      ].map((a) => `logs:${a} *`)
    : [];
  const tracing = (p.TracingConfiguration as { Enabled?: boolean } | undefined)?.Enabled
    ? ['PutTraceSegments', 'PutTelemetryRecords', 'GetSamplingRules', 'GetSamplingTargets'].map(
        (a) => `xray:${a} *`,
      )
    : [];
  return [...logs, ...tracing];
}

const roleIdOfArn = (arn: string) => {
  const id = idsOf('AWS::IAM::Role').find((role) => arnOfResource(role) === arn);
  assert.ok(id, `${arn} is a role of this stack`);
  return id;
};
const machines = idsOf('AWS::StepFunctions::StateMachine').map((id) => ({
  id,
  name: id.replace(/^Gateway|[0-9A-F]{8}$/g, ''),
  tasks: tasksOf(id),
}));

describe('state machine roles', () => {
  it('are checked for every machine, whose Tasks call something', () => {
    assert.deepEqual(machines.map((m) => m.name).sort(), [
      'FinanceStateMachine',
      'ReconciliationStateMachine',
      'SettlementStateMachine',
    ]);
    for (const { tasks } of machines) assert.ok(tasks.length > 0);
  });

  it('model what each finance curate needs: the refunds INSERT and view as the orders ones', async () => {
    const finance = machines.find((m) => m.name === 'FinanceStateMachine');
    const athena = await athenaQueryScope(queriesOf(finance?.tasks ?? []));
    const table = (name: string) => `arn:aws:glue:${region}:${account}:table/micropay_finance/${name}`;
    for (const name of ['orders', 'refunds']) {
      assert.ok(athena.needs.includes(`glue:BatchCreatePartition ${table(name)}`), name);
      assert.ok(
        athena.needs.some((line) =>
          new RegExp(`^s3:PutObject arn:aws:s3:::[^/]+/curated/${name}/\\*$`).test(line),
        ),
        name,
      );
      assert.ok(athena.needs.includes(`glue:UpdateTable ${table(`${name}_current`)}`), name);
    }
    assert.ok(athena.needs.includes(`glue:GetTable ${table('orders_export')}`));
    // `CROSS JOIN UNNEST(…)` names no table.
    assert.equal(
      athena.needs.some((line) => /UNNEST/i.test(line)),
      false,
    );
  });

  it('model what the reconciliation needs: its tables, the curated tables under the current views, its UNLOAD', async () => {
    const reconciliation = machines.find((m) => m.name === 'ReconciliationStateMachine');
    const athena = await athenaQueryScope(queriesOf(reconciliation?.tasks ?? []));
    const table = (name: string) => `arn:aws:glue:${region}:${account}:table/micropay_finance/${name}`;
    for (const name of ['statement_rows', 'statement_accounts', 'orders', 'refunds', 'discrepancies'])
      assert.ok(athena.needs.includes(`glue:GetTable ${table(name)}`), name);
    for (const prefix of ['statements/rows/', 'statements/accounts/', 'curated/orders/', 'curated/refunds/'])
      assert.ok(
        athena.needs.some((line) => new RegExp(`^s3:GetObject arn:aws:s3:::[^/]+/${prefix}\\*$`).test(line)),
        prefix,
      );
    assert.ok(
      athena.needs.some((line) => /^s3:PutObject arn:aws:s3:::[^/]+\/reconciliation\/\*$/.test(line)),
    );
    // The comparison writes no table: UNLOAD writes files, which the discrepancies table's projection reads.
    assert.equal(
      athena.needs.some((line) => /glue:(BatchCreatePartition|CreateTable|UpdateTable)/.test(line)),
      false,
    );
  });

  for (const { id, name, tasks } of machines) {
    it(`let ${name} make the calls of the Tasks that run as it, and assume the roles the others run as`, () => {
      assertExactly(roleOf(id, 'RoleArn'), [
        ...tasks.flatMap((task) => (task.role ? [`sts:AssumeRole ${task.role}`] : callsOfTask(task, tasks))),
        ...machineBaseline(id),
      ]);
    });

    const taskRoles = [...new Set(tasks.flatMap((task) => (task.role ? [task.role] : [])))];
    for (const role of taskRoles) {
      it(`let the ${nameOfResource(roleIdOfArn(role)).replace(/^Gateway|[0-9A-F]{8}$/g, '')} of ${name} make its Tasks’ calls, and only what Athena needs for their queries`, async () => {
        const roleId = roleIdOfArn(role);
        const own = tasks.filter((task) => task.role === role);
        const called = own.flatMap((task) => callsOfTask(task, tasks));
        const athena = await athenaQueryScope(queriesOf(own));
        // Exact, but for what Athena does as the caller: the queries' tables, locations and results.
        const granted = roleGrants(roleId).lines;
        assertExactly(roleId, [...called, ...athena.needs, ...granted.filter(athena.allows)]);
      });
    }
  }
});

/**
 * What Athena does with the caller's credentials to run `tasks`' queries: read the workgroup and the catalog;
 * read the Glue tables the SQL names and their S3 locations; add partitions to, write and replace the tables and
 * views it writes; write its results. Nothing on other tables, databases, prefixes or buckets (`allows`). Of
 * those, `needs` are what no query runs without: each Glue table read (and its objects), each INSERT INTO
 * target's table, partitions and objects, each view's create and replace, the results' objects.
 */
async function athenaQueryScope(tasks: readonly Task[]): Promise<{
  allows: (line: string) => boolean;
  needs: string[];
}> {
  const glueTables = new Map(
    idsOf('AWS::Glue::Table').map((id) => {
      const input = propertiesOf(id).TableInput as {
        Name: string;
        StorageDescriptor?: { Location?: unknown };
      };
      const location = input.StorageDescriptor?.Location;
      return [input.Name, location ? resolve(location).replace(/^s3:\/\//, 'arn:aws:s3:::') : undefined];
    }),
  );
  const read = new Set<string>();
  const written = new Set<string>();
  /** Folders UNLOAD writes (`arn:aws:s3:::bucket/prefix/`). */
  const unloaded = new Set<string>();
  const lines: string[] = [];
  const needs: string[] = [];
  for (const { args } of tasks) {
    const text = await queryText(args.QueryString);
    const sql = text.replace(/"'"|'/g, ' ');
    const code = sql.replace(/--[^\n]*/g, '');
    const names = (pattern: RegExp) => [...code.matchAll(pattern)].map(([, name]) => name as string);
    // A view the finance export makes reads its table (finance/catalog.ts currentViewSql).
    const underViews = (name: string) => [name, ...(views[name] ? [views[name]] : [])];
    const ownRead = names(/\b(?:FROM|JOIN)\s+"?([\w]+)"?/gi)
      .flatMap(underViews)
      .filter((name) => glueTables.has(name));
    const inserted = names(/\bINSERT\s+INTO\s+"?([\w]+)"?/gi);
    const views_ = names(/\bCREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+"?([\w]+)"?/gi);
    for (const [, name] of sql.matchAll(/\b(?:FROM|JOIN)\s+"?([\w]+)"?/gi))
      for (const table of underViews(name as string)) read.add(table);
    for (const [, name] of sql.matchAll(
      /\b(?:INSERT\s+INTO|CREATE\s+(?:OR\s+REPLACE\s+)?(?:VIEW|TABLE))\s+"?([\w]+)"?/gi,
    ))
      written.add(name as string);
    // UNLOAD (…) TO 's3://bucket/prefix…/': the folder's literal part, up to the day.
    const unload = /\bUNLOAD\s*\([\s\S]*\)\s*TO\s+'s3:\/\/([^/']+)\/([^']*)'/i.exec(text);
    if (unload) {
      const [, target, key] = unload as unknown as [string, string, string];
      const literal = key.split(sentinel)[0] ?? '';
      const folder = `arn:aws:s3:::${target}/${literal.slice(0, literal.lastIndexOf('/') + 1)}`;
      unloaded.add(folder);
      needs.push(`s3:PutObject ${folder}*`);
    }
    const context = args.QueryExecutionContext as { Catalog?: string; Database: string };
    const glue = `arn:aws:glue:${region}:${account}`;
    const tableArn = (t: string) => `${glue}:table/${context.Database}/${t}`;
    for (const name of ownRead) {
      needs.push(`glue:GetTable ${tableArn(name)}`);
      if (glueTables.get(name)) needs.push(`s3:GetObject ${glueTables.get(name)}*`);
    }
    for (const name of inserted) {
      const location = glueTables.get(name);
      assert.ok(location, `INSERT INTO ${name}: a Glue table of the stack with a location`);
      needs.push(
        `glue:GetTable ${tableArn(name)}`,
        `glue:BatchCreatePartition ${tableArn(name)}`,
        `s3:PutObject ${location}*`,
      );
    }
    for (const name of views_)
      needs.push(`glue:CreateTable ${tableArn(name)}`, `glue:UpdateTable ${tableArn(name)}`);
    const containers = [`${glue}:catalog`, `${glue}:database/${context.Database}`];
    for (const action of ['GetDatabase', 'GetTable', 'GetPartition', 'GetPartitions'])
      for (const resource of [...containers, ...[...read, ...written].map(tableArn)])
        lines.push(`glue:${action} ${resource}`);
    for (const action of ['BatchCreatePartition', 'CreatePartition', 'CreateTable', 'UpdateTable'])
      for (const resource of [...containers, ...[...written].map(tableArn)])
        lines.push(`glue:${action} ${resource}`);
    lines.push(
      `athena:GetWorkGroup arn:aws:athena:${region}:${account}:workgroup/${args.WorkGroup}`,
      `athena:GetDataCatalog arn:aws:athena:${region}:${account}:datacatalog/${context.Catalog ?? 'AwsDataCatalog'}`,
    );
    const results = resultsOf(String(args.WorkGroup));
    const locations = (names: Set<string>) => [...names].flatMap((n) => glueTables.get(n) ?? []);
    const bucketOf = (arn: string) => arn.slice(0, arn.indexOf('/'));
    const prefixOf = (arn: string) => arn.slice(arn.indexOf('/') + 1);
    for (const location of [...locations(read), ...locations(written), ...unloaded, results]) {
      lines.push(`s3:GetObject ${location}*`, `s3:GetBucketLocation ${bucketOf(location)}`);
      lines.push(`s3:ListBucket ${bucketOf(location)} if StringLike s3:prefix=${prefixOf(location)}*`);
    }
    for (const location of [...locations(written), ...unloaded, results])
      for (const action of ['PutObject', 'DeleteObject', 'AbortMultipartUpload', 'ListMultipartUploadParts'])
        lines.push(`s3:${action} ${location}*`);
    needs.push(`s3:PutObject ${results}*`);
  }
  const allowed = new Set(lines);
  return { allows: (line) => allowed.has(line), needs };
}

/** The views the finance export makes, and the table each reads (finance/catalog.ts `currentViewSql`). */
const views: Readonly<Record<string, string>> = {
  [financeTables.current]: financeTables.curated,
  [financeTables.refundsCurrent]: financeTables.refunds,
};

/** The startQueryExecution Tasks among `tasks`. */
const queriesOf = (tasks: readonly Task[]) =>
  tasks.filter((task) => /:athena:startQueryExecution(\.sync)?$/.test(task.resource));

/** Where a workgroup writes its results, as an S3 ARN. */
function resultsOf(workGroupName: string): string {
  const workGroup = idsOf('AWS::Athena::WorkGroup').find((id) => propertiesOf(id).Name === workGroupName);
  assert.ok(workGroup, `workgroup ${workGroupName} of this stack`);
  return resolve(
    (propertiesOf(workGroup).WorkGroupConfiguration as { ResultConfiguration: { OutputLocation: unknown } })
      .ResultConfiguration.OutputLocation,
  ).replace(/^s3:\/\//, 'arn:aws:s3:::');
}

/** Stands for every variable of a JSONata query string, so its literal parts can be told from the rest. */
const sentinel = '\u0000';

/** A query's SQL: the string itself, or a JSONata expression evaluated with each variable the sentinel. */
async function queryText(queryString: unknown): Promise<string> {
  const text = String(queryString);
  if (!text.startsWith('{%')) return text;
  const expression = text.slice(2, -2);
  const variables = [...expression.matchAll(/\$([A-Za-z]\w*)\b(?!\s*\()/g)].map(([, name]) => name as string);
  const bindings = Object.fromEntries(
    variables.filter((n) => n !== 'states').map((name) => [name, sentinel]),
  );
  return String(await jsonata(expression).evaluate(undefined, bindings));
}

describe('EventBridge Scheduler roles', () => {
  it('let each schedule start only its target', () => {
    const schedules = idsOf('AWS::Scheduler::Schedule');
    assert.ok(schedules.length > 0);
    for (const schedule of schedules) {
      const target = propertiesOf(schedule).Target as {
        Arn: unknown;
        RoleArn: unknown;
        DeadLetterConfig?: unknown;
      };
      assert.equal(target.DeadLetterConfig, undefined, 'a dead-letter queue would need sqs:SendMessage here');
      const arn = resolve(target.Arn);
      const action = arn.includes(':states:')
        ? 'states:StartExecution'
        : arn.includes(':lambda:')
          ? 'lambda:InvokeFunction'
          : undefined;
      assert.ok(action, `${schedule}: no IAM rule for target ${arn}`);
      assertExactly(roleIdOfArn(resolve(target.RoleArn)), [`${action} ${arn}`]);
    }
  });
});

describe('KMS keys', () => {
  it('are AWS-managed behind every encrypted resource: no key policy of ours to keep, no kms: grant', () => {
    // A customer-managed key would need its key policy and grants checked against the principals using it.
    const keyProperties: string[] = [];
    const look = (value: unknown, path: string) => {
      if (typeof value !== 'object' || value === null) return;
      for (const [key, inner] of Object.entries(value)) {
        if (/kms/i.test(key)) keyProperties.push(`${path}.${key}`);
        look(inner, `${path}.${key}`);
      }
    };
    for (const [id, resource] of Object.entries(cfn)) look(resource.Properties, id);
    assert.deepEqual(keyProperties, []);
    assert.deepEqual(
      Object.keys(cfn).filter((id) => cfn[id]?.Type.startsWith('AWS::KMS::')),
      [],
    );
    const kmsGrants = idsOf('AWS::IAM::Role').flatMap((id) =>
      roleGrants(id).lines.filter((l) => l.startsWith('kms:')),
    );
    assert.deepEqual(kmsGrants, []);
  });
});

describe('every role', () => {
  it('is a function’s, a state machine’s, a Task’s or a schedule’s: one the cases above check', () => {
    const checked = new Set([
      ...functions.map((f) => roleOf(f.id)),
      ...machines.flatMap((m) => [
        roleOf(m.id, 'RoleArn'),
        ...m.tasks.flatMap((t) => (t.role ? [roleIdOfArn(t.role)] : [])),
      ]),
      ...idsOf('AWS::Scheduler::Schedule').map((s) =>
        roleIdOfArn(resolve((propertiesOf(s).Target as { RoleArn: unknown }).RoleArn)),
      ),
    ]);
    assert.deepEqual(
      idsOf('AWS::IAM::Role').filter((id) => !checked.has(id)),
      [],
    );
  });
});
