import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import jsonata from 'jsonata';
import { describe, it } from 'vitest';
import { substitute } from '#adapters/asl.ts';
import { curatedColumns, currentViewSql, financePrefixes, refundColumns } from '#finance/catalog.ts';
import { readSql, sqlNames } from '#finance/sql.ts';
import { curateQueryForAsl, FinanceExports, financeExportAslPath } from '../../lib/finance-exports.ts';
import { MicropayGateway } from '../../lib/micropay-gateway.ts';
import { templateApp } from '../support/cdk.ts';

const app = templateApp();
const stack = new Stack(app, 'Micropay-test', { env: { account: '123456789012', region: 'ap-east-1' } });
new MicropayGateway(stack, 'Gateway');
const template = Template.fromStack(stack);
const resources = (type: string) => Object.entries(template.findResources(type));
const only = (type: string, idPrefix: string) => {
  const found = resources(type).filter(([id]) => id.startsWith(`Gateway${idPrefix}`));
  assert.equal(found.length, 1, `one ${type} ${idPrefix}`);
  return (found[0]?.[1] ?? {}) as { Properties: Record<string, never> } & Record<string, unknown>;
};
type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
const statementsOf = (roleIdPrefix: string): Statement[] =>
  resources('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
const actions = (s: Statement) => [s.Action].flat();
const ref = (idPrefix: string) =>
  resources('AWS::S3::Bucket').find(([id]) => id.startsWith(`Gateway${idPrefix}`))?.[0];

describe('finance exports in the regional stack', () => {
  it('keeps exports in an encrypted, versioned, private, TLS-only, logged bucket with lifecycle, retained on delete', () => {
    const bucket = only('AWS::S3::Bucket', 'FinanceBucket');
    assert.equal(bucket.DeletionPolicy, 'Retain');
    const p = bucket.Properties as Record<string, never>;
    assert.deepEqual(p.BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    assert.deepEqual(p.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(p.VersioningConfiguration, { Status: 'Enabled' });
    assert.match(JSON.stringify(p.LoggingConfiguration), /FinanceAccessLogs/);
    const rules = (p.LifecycleConfiguration as unknown as { Rules: Record<string, unknown>[] }).Rules;
    for (const prefix of [financePrefixes.exports, financePrefixes.curated, financePrefixes.curatedRefunds]) {
      const rule = rules.find((r) => r.Prefix === prefix);
      assert.deepEqual(rule?.Transitions, [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }]);
      assert.equal(rule?.ExpirationInDays, 90);
    }
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ref('FinanceBucket') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('exports daily at 00:30 China time by starting the export state machine from EventBridge Scheduler', () => {
    const schedule = only('AWS::Scheduler::Schedule', 'FinanceSchedule').Properties;
    assert.equal(schedule.ScheduleExpression, 'cron(30 0 * * ? *)');
    assert.equal(schedule.ScheduleExpressionTimezone, 'Asia/Shanghai');
    assert.match(JSON.stringify(schedule.Target), /FinanceStateMachine/);
  });

  it('lets the export role export the orders table to the exports prefix and nothing else', () => {
    const statements = statementsOf('FinanceExportRole');
    assert.deepEqual(statements.flatMap(actions).sort(), [
      'dynamodb:DescribeExport',
      'dynamodb:ExportTableToPointInTime',
      's3:AbortMultipartUpload',
      's3:PutObject',
      's3:PutObjectAcl',
    ]);
    for (const s of statements) {
      const resource = JSON.stringify(s.Resource);
      if (actions(s).some((a) => a.startsWith('dynamodb:'))) assert.match(resource, /TablesOrders/);
      else assert.match(resource, /FinanceBucket.*"\/exports\/orders\/\*"/);
    }
  });

  it('gives the state machine only the assumption of its two task roles (plus its logs and traces)', () => {
    const statements = statementsOf('FinanceStateMachineRole');
    const assume = statements.filter((s) => actions(s).includes('sts:AssumeRole'));
    assert.equal(assume.length, 1);
    assert.match(JSON.stringify(assume[0]?.Resource), /FinanceExportRole.*FinanceCurateRole/);
    const others = statements.flatMap(actions).filter((a) => a !== 'sts:AssumeRole');
    for (const action of others) assert.match(action, /^(logs|xray):/);
    const definition = JSON.stringify(only('AWS::StepFunctions::StateMachine', 'FinanceStateMachine'));
    assert.match(definition, /FinanceExportRole/);
    assert.match(definition, /FinanceCurateRole/);
  });

  it('keeps the curate role off the orders table and writing only the curated and results prefixes', () => {
    const statements = statementsOf('FinanceCurateRole');
    assert.doesNotMatch(JSON.stringify(statements), /dynamodb|TablesOrders/);
    for (const s of statements.filter((s) => actions(s).some((a) => /^s3:(Put|Delete)/.test(a)))) {
      assert.match(
        JSON.stringify(s.Resource),
        /curated\/orders\/\*.*curated\/refunds\/\*.*athena-results\/\*/,
      );
      assert.doesNotMatch(JSON.stringify(s.Resource), /exports\/orders/);
    }
  });

  it('catalogs the raw export with projection at each export’s data/ folder, so manifests are never rows', () => {
    const raw = only('AWS::Glue::Table', 'FinanceRawTable').Properties.TableInput as unknown as Record<
      string,
      never
    >;
    const parameters = raw.Parameters as unknown as Record<string, unknown>;
    assert.equal(parameters['projection.enabled'], 'true');
    assert.equal(parameters['projection.dt.type'], 'date');
    assert.equal(parameters['projection.export_id.type'], 'injected');
    const location = JSON.stringify(parameters['storage.location.template']);
    assert.match(location, /"\/exports\/orders\/dt=\$\{dt\}\/AWSDynamoDB\/\$\{export_id\}\/data\/"/);
    assert.deepEqual(
      (raw.PartitionKeys as unknown as { Name: string }[]).map((k) => k.Name),
      ['dt', 'export_id'],
    );
    const descriptor = raw.StorageDescriptor as unknown as Record<string, never>;
    assert.equal(
      (descriptor.SerdeInfo as unknown as { SerializationLibrary: string }).SerializationLibrary,
      'org.openx.data.jsonserde.JsonSerDe',
    );
    assert.doesNotMatch(JSON.stringify(descriptor.Columns), /auth/);
  });

  it('catalogs the curated table as Parquet partitioned by dt with projection, columns from the catalog', () => {
    const curated = only('AWS::Glue::Table', 'FinanceCuratedTable').Properties
      .TableInput as unknown as Record<string, never>;
    const parameters = curated.Parameters as unknown as Record<string, unknown>;
    assert.equal(parameters['projection.enabled'], 'true');
    assert.equal(parameters['projection.dt.type'], 'date');
    assert.match(
      JSON.stringify(parameters['storage.location.template']),
      /"\/curated\/orders\/dt=\$\{dt\}\/"/,
    );
    const descriptor = curated.StorageDescriptor as unknown as Record<string, never>;
    assert.match(JSON.stringify(descriptor.SerdeInfo), /ParquetHiveSerDe/);
    const columns = (descriptor.Columns as unknown as { Name: string; Type: string }[]).map(
      (c) => `${c.Name} ${c.Type}`,
    );
    assert.deepEqual(
      columns,
      curatedColumns.map((c) => `${c.name} ${c.type}`),
    );
    assert.ok(columns.includes('total_fee bigint') && columns.includes('net_money decimal(20,8)'));
    assert.equal(
      columns.some((c) => /auth/.test(c)),
      false,
    );
    assert.deepEqual(curated.PartitionKeys, [
      { Name: 'dt', Type: 'string', Comment: 'snapshot date (UTC), YYYY-MM-DD' },
    ]);
  });

  it('catalogs the refunds table as Parquet partitioned by dt with projection, columns from the catalog', () => {
    const refunds = only('AWS::Glue::Table', 'FinanceRefundsTable').Properties
      .TableInput as unknown as Record<string, never>;
    assert.equal(refunds.Name, 'refunds');
    const parameters = refunds.Parameters as unknown as Record<string, unknown>;
    assert.equal(parameters['projection.enabled'], 'true');
    assert.equal(parameters['projection.dt.type'], 'date');
    assert.match(
      JSON.stringify(parameters['storage.location.template']),
      /"\/curated\/refunds\/dt=\$\{dt\}\/"/,
    );
    const descriptor = refunds.StorageDescriptor as unknown as Record<string, never>;
    assert.match(JSON.stringify(descriptor.SerdeInfo), /ParquetHiveSerDe/);
    assert.match(JSON.stringify(descriptor.Location), /"\/curated\/refunds\/"/);
    const columns = (descriptor.Columns as unknown as { Name: string; Type: string }[]).map(
      (c) => `${c.Name} ${c.Type}`,
    );
    assert.deepEqual(
      columns,
      refundColumns.map((c) => `${c.name} ${c.type}`),
    );
    assert.ok(columns.includes('refund_fee bigint') && columns.includes('refund_state int'));
    assert.deepEqual(refunds.PartitionKeys, [
      { Name: 'dt', Type: 'string', Comment: 'snapshot date (UTC), YYYY-MM-DD' },
    ]);
  });

  it('limits every query of the finance workgroup and encrypts its results', () => {
    const configuration = only('AWS::Athena::WorkGroup', 'FinanceWorkGroup').Properties
      .WorkGroupConfiguration as unknown as Record<string, never>;
    assert.equal(configuration.BytesScannedCutoffPerQuery, 50 * 1024 ** 3);
    assert.equal(configuration.EnforceWorkGroupConfiguration, true);
    const results = configuration.ResultConfiguration as unknown as Record<string, unknown>;
    assert.deepEqual(results.EncryptionConfiguration, { EncryptionOption: 'SSE_S3' });
    assert.match(JSON.stringify(results.OutputLocation), /"\/athena-results\/"/);
  });

  it('holds every SQL file, unchanged, as a named query of the workgroup', () => {
    const queries = resources('AWS::Athena::NamedQuery').map(([, q]) => q.Properties);
    assert.deepEqual(queries.map((q) => q.Name).sort(), [...sqlNames].sort());
    for (const query of queries) {
      assert.equal(query.QueryString, readSql(query.Name));
      assert.equal(query.Database, 'micropay_finance');
      assert.equal(query.WorkGroup, 'micropay-finance');
    }
  });

  it('gives finance a managed policy for Athena on the workgroup and reading the curated and reconciliation prefixes only', () => {
    const policy = only('AWS::IAM::ManagedPolicy', 'FinanceFinancePolicy').Properties;
    const statements = (policy.PolicyDocument as unknown as { Statement: Statement[] }).Statement;
    const text = JSON.stringify(statements);
    assert.doesNotMatch(text, /exports\/orders|orders_export|dynamodb|"\*"/);
    const reconciliation = ['statements/raw/', 'statements/rows/', 'statements/accounts/', 'reconciliation/'];
    for (const s of statements) {
      const resource = JSON.stringify(s.Resource);
      for (const action of actions(s)) {
        if (action === 's3:GetObject')
          assert.match(
            resource,
            /curated\/orders\/\*.*curated\/refunds\/\*|athena-results\/\*|statements\/raw\/\*.*statements\/rows\/\*.*statements\/accounts\/\*.*reconciliation\/\*/,
          );
        if (action === 's3:PutObject') assert.match(resource, /athena-results\/\*/);
        if (action === 's3:ListBucket')
          assert.ok(
            [
              ['curated/orders/*', 'curated/refunds/*', 'athena-results/*'],
              reconciliation.map((p) => `${p}*`),
            ].some(
              (prefixes) =>
                JSON.stringify(s.Condition) === JSON.stringify({ StringLike: { 's3:prefix': prefixes } }),
            ),
            JSON.stringify(s.Condition),
          );
        if (action === 'glue:GetTable')
          assert.ok(
            ['orders', 'orders_current', 'refunds', 'refunds_current'].every((t) =>
              new RegExp(`micropay_finance/${t}"`).test(resource),
            ) ||
              ['statement_rows', 'statement_accounts', 'discrepancies'].every((t) =>
                new RegExp(`micropay_finance/${t}"`).test(resource),
              ),
            resource,
          );
        if (action.startsWith('athena:')) assert.match(resource, /workgroup\/micropay-finance|datacatalog/);
      }
    }
    const outputs = Object.values(template.findOutputs('*')).map((o) => JSON.stringify(o.Value));
    assert.ok(
      outputs.some((value) => /FinanceFinancePolicy/.test(value)),
      'the policy ARN is an output',
    );
  });

  it('alarms to the gateway topic when an export or curate run fails, times out or is not started', () => {
    const alarm = only('AWS::CloudWatch::Alarm', 'FinanceExportFailed').Properties;
    const metrics = JSON.stringify(alarm.Metrics);
    for (const name of [
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
      'InvocationDroppedCount',
    ])
      assert.match(metrics, new RegExp(name));
    assert.match(metrics, /FinanceStateMachine/);
    assert.match(JSON.stringify(alarm.AlarmActions), /MonitoringAlarms/);
  });

  it('alarms when no export has succeeded for 26 hours (a schedule that stopped fails no execution)', () => {
    const alarm = only('AWS::CloudWatch::Alarm', 'FinanceExportStale').Properties;
    assert.equal(alarm.MetricName, 'ExecutionsSucceeded');
    assert.match(JSON.stringify(alarm.Dimensions), /FinanceStateMachine/);
    assert.equal(alarm.Period, 3600);
    assert.equal(alarm.EvaluationPeriods, 26);
    assert.equal(alarm.DatapointsToAlarm, 26);
    assert.equal(alarm.ComparisonOperator, 'LessThanThreshold');
    assert.equal(alarm.TreatMissingData, 'breaching');
    assert.match(JSON.stringify(alarm.AlarmActions), /MonitoringAlarms/);
  });
});

describe('the finance export state machine (statemachines/finance-export.asl.json)', () => {
  const asl = readFileSync(financeExportAslPath, 'utf8');
  const substitutions = Object.fromEntries(
    [...asl.matchAll(/\$\{([A-Za-z]+)\}/g)].map(([, name]) => [name, `sub-${name}`]),
  ) as Record<string, string>;
  substitutions.CurateQuery = curateQueryForAsl();
  substitutions.CurateRefundsQuery = curateQueryForAsl('curate-refunds');
  Object.assign(substitutions, {
    ExportsPrefix: financePrefixes.exports,
    CuratedPrefix: financePrefixes.curated,
    CuratedRefundsPrefix: financePrefixes.curatedRefunds,
    CuratedTable: 'orders',
    CurrentView: 'orders_current',
    RefundsTable: 'refunds',
    RefundsCurrentView: 'refunds_current',
  });
  interface AslState {
    readonly Type: string;
    readonly Next?: string;
    readonly Default?: string;
    readonly Assign?: Record<string, string>;
    readonly Arguments?: Record<string, never>;
    readonly Retry?: { ErrorEquals: string[] }[];
    readonly Catch?: { ErrorEquals: string[] }[];
  }
  const definition = JSON.parse(substitute(asl, substitutions)) as { States: Record<string, AslState> };
  const state = (name: string): AslState => definition.States[name] ?? { Type: 'missing' };
  const expression = (text: string | undefined) => jsonata((text ?? '').replace(/^\{%|%\}$/g, ''));
  // JSONata builds objects without a prototype; compare them as the JSON Step Functions passes on.
  const evaluate = async (text: string | undefined, bindings: Record<string, unknown>) =>
    JSON.parse(JSON.stringify(await expression(text).evaluate({}, bindings)) ?? 'null') as unknown;

  it('is valid ASL with Retry and a catch-all Catch on every Task, and the stack fills every placeholder', () => {
    // asl-validator's pattern for a plain string has no `s` flag, so it refuses a multi-line one (the SQL's);
    // Step Functions takes any string. The copy validated has the query on one line.
    const checked = structuredClone(definition) as {
      States: Record<string, { Arguments?: { QueryString?: string } }>;
    };
    for (const name of ['Curate', 'CurateRefunds']) {
      const curateArguments = checked.States[name]?.Arguments;
      assert.match(curateArguments?.QueryString ?? '', /\n/, `${name} holds a SQL file`);
      if (curateArguments?.QueryString)
        curateArguments.QueryString = curateArguments.QueryString.replaceAll('\n', ' ');
    }
    const { isValid, errorsText } = aslValidator(checked);
    assert.equal(isValid, true, errorsText('\n'));
    for (const [name, s] of Object.entries(definition.States).filter(([, s]) => s.Type === 'Task')) {
      assert.ok((s.Retry ?? []).length > 0, `${name} retries`);
      assert.ok(JSON.stringify(s.Catch).includes('States.ALL'), `${name} catches`);
    }
    const machine = only('AWS::StepFunctions::StateMachine', 'FinanceStateMachine').Properties;
    const given = Object.keys(machine.DefinitionSubstitutions as unknown as object).sort();
    assert.deepEqual(given, Object.keys(substitutions).sort());
  });

  it('exports to the dated prefix and curates with the SQL file as INSERT INTO, parameters in order', async () => {
    const startTime = '2026-12-01T16:30:00.123Z';
    const dt = await evaluate(state('Day').Assign?.dt, {
      states: { context: { Execution: { StartTime: startTime } } },
    });
    assert.equal(dt, '2026-12-01');
    const exported = state('Export');
    assert.equal(await evaluate(exported.Arguments?.S3Prefix, { dt }), 'exports/orders/dt=2026-12-01');
    const arn = 'arn:aws:dynamodb:ap-east-1:123456789012:table/orders/export/01796142600000-cb09a1af';
    const exportId = await evaluate(exported.Assign?.exportId, {
      states: { result: { ExportDescription: { ExportArn: arn } } },
    });
    assert.equal(exportId, '01796142600000-cb09a1af');
    const curate = state('Curate').Arguments as unknown as {
      QueryString: string;
      ExecutionParameters: string[];
    };
    assert.equal(curate.QueryString, `INSERT INTO orders\n${readSql('curate-orders')}`);
    const parameters = await Promise.all(
      curate.ExecutionParameters.map((p) => evaluate(p, { dt, exportId })),
    );
    assert.deepEqual(parameters, ["'2026-12-01'", "'01796142600000-cb09a1af'"]);
    const view = state('PublishCurrent').Arguments?.QueryString;
    assert.equal(await evaluate(view, { dt }), currentViewSql('2026-12-01'));
    // The refunds: the other SQL file into the other table, with the same parameters, and its own view.
    const refunds = state('CurateRefunds').Arguments as unknown as typeof curate;
    assert.equal(refunds.QueryString, `INSERT INTO refunds\n${readSql('curate-refunds')}`);
    assert.deepEqual(refunds.ExecutionParameters, curate.ExecutionParameters);
    const refundsView = state('PublishRefundsCurrent').Arguments?.QueryString;
    assert.equal(await evaluate(refundsView, { dt }), currentViewSql('2026-12-01', 'refunds'));
    assert.equal(state('Curate').Next, 'CurateRefunds');
    assert.equal(state('CurateRefunds').Next, 'PublishRefundsCurrent');
    assert.equal(state('PublishRefundsCurrent').Next, 'PublishCurrent');
  });

  it('clears an earlier run’s curated partitions before inserting, one object or many', async () => {
    const listed = (keys: string[], list = 'ListCurated') =>
      evaluate(state(list).Assign?.stale, {
        states: {
          result: { KeyCount: keys.length, Contents: keys.map((Key) => ({ Key, Size: 1, ETag: '"x"' })) },
        },
      });
    assert.deepEqual(await listed([]), []);
    assert.deepEqual(await listed(['curated/orders/dt=2026-12-01/a']), [
      { Key: 'curated/orders/dt=2026-12-01/a' },
    ]);
    assert.deepEqual(await listed(['a', 'b']), [{ Key: 'a' }, { Key: 'b' }]);
    assert.deepEqual(await listed(['a', 'b'], 'ListCuratedRefunds'), [{ Key: 'a' }, { Key: 'b' }]);
    assert.equal(state('DeleteCurated').Next, 'ListCurated');
    assert.equal(state('Cleared?').Default, 'ListCuratedRefunds');
    assert.equal(state('DeleteCuratedRefunds').Next, 'ListCuratedRefunds');
    assert.equal(state('RefundsCleared?').Default, 'Curate');
    assert.equal(
      await evaluate(state('ListCuratedRefunds').Arguments?.Prefix, { dt: '2026-12-01' }),
      'curated/refunds/dt=2026-12-01/',
    );
  });

  it('waits on the export, fails the execution when the export fails, and never retries a failed INSERT', () => {
    const choices = JSON.stringify(state('Exported?'));
    assert.match(choices, /COMPLETED.*ListCurated/);
    assert.match(choices, /FAILED.*ExportFailed/);
    assert.equal(state('Exported?').Default, 'WaitForExport');
    assert.equal(state('ExportFailed').Type, 'Fail');
    for (const name of ['Curate', 'CurateRefunds'])
      assert.deepEqual(
        (state(name).Retry ?? []).flatMap((r) => r.ErrorEquals),
        ['Athena.TooManyRequestsException'],
      );
  });
});

describe('cdk-nag AwsSolutions on the finance exports', () => {
  it('reports nothing unsuppressed', () => {
    const nagApp = templateApp();
    const nagStack = new Stack(nagApp, 'FinanceNag', {
      env: { account: '123456789012', region: 'ap-east-1' },
    });
    const ordersTable = new Table(nagStack, 'Orders', {
      partitionKey: { name: 'merchant_id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    new FinanceExports(nagStack, 'Finance', { ordersTable });
    Aspects.of(nagStack).add(new AwsSolutionsChecks());
    const annotations = Annotations.fromStack(nagStack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ]
      .filter((f) => f.id.startsWith('/FinanceNag/Finance/'))
      .map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`);
    assert.deepEqual(findings, []);
  });
});
