import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CfnElement } from 'aws-cdk-lib';
import type { Context } from 'aws-lambda';
import type { IConstruct } from 'constructs';
import { describe, it } from 'vitest';
import { substitute } from '#adapters/asl.ts';
import { emfReconciliationTelemetry } from '#adapters/emf-telemetry.ts';
import type { AccountRef } from '#core/reconciliation/run.ts';
import type { AccountLine, AccountResult, StatementStore } from '#core/reconciliation/statements.ts';
import { parameterCount, readSql } from '#finance/sql.ts';
import { publishFunction, recordFunction } from '../../functions/reconcile/reconcile.ts';
import { reconciliationAslPath } from '../../lib/reconciliation.ts';
import { deployedStacks } from './deployed-template.ts';
import {
  type AslState,
  type ExecutionResult,
  type JsonataDefinition,
  runJsonataMachine,
  type ServiceCall,
  StatesError,
} from './jsonata-machine.ts';

// The reconciliation state machine as the first region's template deploys it: its DefinitionString with its
// DefinitionSubstitutions, both resolved. A placeholder the template does not give fails here, at substitute().
const [deployed] = deployedStacks();
if (!deployed) throw new Error('no stack');
const { stack, gateway, resources, resolve } = deployed;
const logicalId = (construct: IConstruct) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
const { reconciliation, finance } = gateway;
const machineProperties = resources[logicalId(reconciliation.stateMachine)]?.Properties ?? {};
const substitutions = resolve(machineProperties.DefinitionSubstitutions) as Record<string, string>;
const deployedText = resolve(machineProperties.DefinitionString) as string;
const definition = JSON.parse(substitute(deployedText, substitutions)) as JsonataDefinition;

// What the definition must name, each read from its own resource rather than from the substitutions.
const stateMachineArn = resolve({ Ref: logicalId(reconciliation.stateMachine) }) as string;
const functionArn = (construct: IConstruct) =>
  resolve({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] }) as string;
const functions = {
  accounts: functionArn(reconciliation.accountsFunction),
  fetch: functionArn(reconciliation.fetchFunction),
  record: functionArn(reconciliation.recordFunction),
  publish: functionArn(reconciliation.publishFunction),
};
const bucket = resolve({ Ref: logicalId(finance.bucket) }) as string;
const queryRoleArn = resolve({ 'Fn::GetAtt': [logicalId(reconciliation.queryRole), 'Arn'] }) as string;
const workGroup = (resolve(resources[logicalId(finance.workGroup)]?.Properties) as { Name: string }).Name;
const database = (
  resolve(resources[logicalId(finance.database)]?.Properties) as { DatabaseInput: { Name: string } }
).DatabaseInput.Name;
const discrepanciesTable = (
  resolve(resources[logicalId(reconciliation.discrepanciesTable)]?.Properties) as {
    TableInput: { Name: string; Parameters: Record<string, string> };
  }
).TableInput;

// The scheduled run: EventBridge Scheduler starts it at 10:30 in Shanghai (02:30 UTC) with the time it fired.
const executionName = '5b0c3f0e-8a4e-4c1d-9f57-2c1e0a9d4b7e';
const scheduledTime = '2026-12-02T02:30:00Z';
const startTime = '2026-12-02T02:30:01.207Z';
const day = '2026-12-01';
/** The day's partition of the discrepancies table, its projection template filled in, as a key prefix. */
const discrepanciesFolder = (discrepanciesTable.Parameters['storage.location.template'] ?? '')
  .replace(/\$\{bill_date\}/, day)
  .replace(`s3://${bucket}/`, '');

/** An account as the accounts function lists it. */
const account = (channel: string, id: string, merchants: string[], statement = true): AccountRef => ({
  channel,
  account: id,
  merchant_ids: merchants,
  statement,
});

/** What AWS holds and how the functions answer in one run. */
interface World {
  readonly input?: unknown;
  readonly accounts: readonly AccountRef[];
  /** Per `channel/account`, what each fetch answers in turn (an Error: the function throws it); the last stays. */
  readonly fetches?: Readonly<Record<string, readonly (AccountResult | StatesError)[]>>;
  /** Keys in the exports bucket before the run. */
  readonly objects?: readonly string[];
  /** finance/sql/reconciliation-totals.sql's rows: channel, class, discrepancies, fen. */
  readonly totals?: readonly (readonly [string, string, number, number])[];
  /** States whose Athena query ends FAILED. */
  readonly failedQueries?: readonly string[];
}

const hex = (text: string, length: number) =>
  createHash('sha256').update(text).digest('hex').slice(0, length);
const noLogs = new Logger({ serviceName: 'micropay', logLevel: 'SILENT' });
const lambdaContext = { functionName: 'reconcile', awsRequestId: 'r-1' } as Context;

/**
 * Lambda, S3 and Athena as Step Functions' integrations answer them. The accounts and fetch functions are fakes
 * (they would call the channels); the record and publish functions are the real handlers, over a statement store
 * in memory and an EMF writer that keeps its lines, so what the machine gives them is what they parse.
 */
class FakeAws {
  readonly objects = new Set<string>();
  readonly recorded: AccountLine[][] = [];
  readonly metrics: Record<string, unknown>[] = [];
  readonly queries: { state: string; id: string; query: string; parameters: string[] }[] = [];
  private readonly fetches: Record<string, (AccountResult | StatesError)[]>;
  private inFlight = 0;
  maxInFlight = 0;
  private readonly record;
  private readonly publish;
  private readonly world: World;

  constructor(world: World) {
    this.world = world;
    for (const key of world.objects ?? []) this.objects.add(key);
    this.fetches = Object.fromEntries(Object.entries(world.fetches ?? {}).map(([k, v]) => [k, [...v]]));
    const telemetry = emfReconciliationTelemetry({
      namespace: 'Micropay',
      service: 'micropay',
      write: (line) => this.metrics.push(JSON.parse(line)),
    });
    const store: StatementStore = {
      has: async () => false,
      put: async () => {},
      record: async (_billDate, lines) => {
        this.recorded.push([...lines]);
      },
    };
    this.record = recordFunction({ logger: noLogs, statements: store as never, telemetry });
    this.publish = publishFunction({ logger: noLogs, telemetry });
  }

  readonly call = async (call: ServiceCall): Promise<unknown> => {
    switch (call.resource) {
      case 'arn:aws:states:::lambda:invoke':
        return this.invoke(call);
      case 'arn:aws:states:::aws-sdk:s3:listObjectsV2':
        return this.listObjects(call);
      case 'arn:aws:states:::aws-sdk:s3:deleteObjects':
        return this.deleteObjects(call);
      case 'arn:aws:states:::athena:startQueryExecution.sync':
        return this.query(call);
      case 'arn:aws:states:::aws-sdk:athena:getQueryResults':
        return this.queryResults(call);
      default:
        throw new Error(`no fake for ${call.resource}`);
    }
  };

  /** lambda:invoke: the function's answer as Payload, its error as the Task's error (its name). */
  private async invoke(call: ServiceCall) {
    const { FunctionName, Payload, ...rest } = call.arguments as Record<string, unknown>;
    assert.deepEqual(Object.keys(rest), [], `${call.state}: only FunctionName and Payload`);
    assert.equal(call.roleArn, undefined, `${call.state} runs as the machine's role`);
    const payload = JSON.parse(JSON.stringify(Payload)) as Record<string, unknown>;
    const answer = await (async () => {
      switch (FunctionName) {
        case functions.accounts:
          assert.deepEqual(Object.keys(payload), ['bill_date']);
          return { bill_date: payload.bill_date, accounts: this.world.accounts };
        case functions.fetch:
          return this.fetch(payload);
        case functions.record:
          return this.record(payload, lambdaContext);
        case functions.publish:
          return this.publish(payload, lambdaContext);
        default:
          throw new StatesError('Lambda.ResourceNotFoundException', `Function not found: ${FunctionName}`);
      }
    })();
    return { ExecutedVersion: '$LATEST', Payload: answer, StatusCode: 200 };
  }

  private async fetch(payload: Record<string, unknown>) {
    assert.deepEqual(Object.keys(payload).sort(), ['account', 'bill_date', 'channel', 'merchant_ids']);
    const listed = this.world.accounts.find(
      (a) => a.channel === payload.channel && a.account === payload.account,
    );
    assert.ok(listed, `fetch of an account the accounts function listed: ${JSON.stringify(payload)}`);
    assert.deepEqual(payload.merchant_ids, listed.merchant_ids);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      // Another account's fetch can start while this one downloads.
      await new Promise((resolve) => setTimeout(resolve, 1));
      const queue = this.fetches[`${payload.channel}/${payload.account}`];
      const answer = (queue && queue.length > 1 ? queue.shift() : queue?.[0]) ?? {
        kind: listed.statement ? 'fetched' : 'no_statement',
        ...(listed.statement ? { rows: 3 } : {}),
      };
      if (answer instanceof StatesError) throw answer;
      return answer;
    } finally {
      this.inFlight -= 1;
    }
  }

  private listObjects(call: ServiceCall) {
    const { Bucket, Prefix, MaxKeys, ...rest } = call.arguments as Record<string, unknown>;
    assert.deepEqual(Object.keys(rest), []);
    assert.equal(Bucket, bucket);
    const keys = [...this.objects].filter((key) => key.startsWith(String(Prefix))).sort();
    const page = keys.slice(0, Number(MaxKeys ?? 1000));
    return {
      IsTruncated: keys.length > page.length,
      ...(page.length
        ? { Contents: page.map((Key) => ({ Key, Size: 1024, StorageClass: 'STANDARD' })) }
        : {}),
      Name: Bucket,
      Prefix,
      MaxKeys,
      KeyCount: page.length,
    };
  }

  private deleteObjects(call: ServiceCall) {
    const { Bucket, Delete } = call.arguments as {
      Bucket: string;
      Delete: { Objects: unknown; Quiet: boolean };
    };
    assert.equal(Bucket, bucket);
    const objects = Delete.Objects;
    if (!Array.isArray(objects) || objects.length === 0 || objects.some((o) => typeof o?.Key !== 'string'))
      throw new StatesError('S3.S3Exception', 'The XML you provided was not well-formed (MalformedXML)');
    for (const { Key } of objects as { Key: string }[]) this.objects.delete(Key);
    return {};
  }

  /** Athena: markers and parameters agree; an UNLOAD writes only to an empty folder, then fills it. */
  private query(call: ServiceCall) {
    const args = call.arguments as {
      QueryString: string;
      ExecutionParameters?: string[];
      QueryExecutionContext: { Catalog: string; Database: string };
      WorkGroup: string;
    };
    assert.equal(call.roleArn, queryRoleArn, `${call.state} runs as the query role`);
    if (args.WorkGroup !== workGroup)
      throw new StatesError('Athena.InvalidRequestException', `WorkGroup ${args.WorkGroup} is not found.`);
    assert.deepEqual(args.QueryExecutionContext, { Catalog: 'AwsDataCatalog', Database: database });
    const parameters = args.ExecutionParameters ?? [];
    if (parameterCount(args.QueryString) !== parameters.length)
      throw new StatesError(
        'Athena.InvalidRequestException',
        `The query has ${parameterCount(args.QueryString)} parameter markers; ${parameters.length} parameters were given`,
      );
    const id = `${hex(`${call.state}${this.queries.length}`, 8)}-1f2e-4d3c-8b4a-${hex(call.state, 12)}`;
    this.queries.push({ state: call.state, id, query: args.QueryString, parameters });
    if (this.world.failedQueries?.includes(call.state))
      throw new StatesError(
        'States.TaskFailed',
        JSON.stringify({ QueryExecution: { QueryExecutionId: id, Status: { State: 'FAILED' } } }),
      );
    const unload = /^UNLOAD \(([\s\S]*)\) TO 's3:\/\/([^/]+)\/([^']*)' WITH \((.*)\)$/.exec(args.QueryString);
    if (unload) {
      const [, , target, prefix] = unload as unknown as [string, string, string, string];
      assert.equal(target, bucket);
      if ([...this.objects].some((key) => key.startsWith(prefix)))
        throw new StatesError(
          'States.TaskFailed',
          `HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: s3://${target}/${prefix}`,
        );
      this.objects.add(`${prefix}20261202_023512_00021_abcde_${hex(id, 8)}`);
    }
    return {
      QueryExecution: {
        QueryExecutionId: id,
        Query: args.QueryString,
        StatementType: 'DML',
        Status: { State: 'SUCCEEDED' },
        WorkGroup: args.WorkGroup,
      },
    };
  }

  private queryResults(call: ServiceCall) {
    assert.equal(call.roleArn, queryRoleArn);
    const { QueryExecutionId } = call.arguments as { QueryExecutionId: string };
    const query = this.queries.find((q) => q.id === QueryExecutionId);
    if (!query)
      throw new StatesError(
        'Athena.InvalidRequestException',
        `QueryExecution ${QueryExecutionId} was not found`,
      );
    assert.equal(query.state, 'Totals');
    const cells = (...values: (string | number)[]) => ({
      Data: values.map((v) => ({ VarCharValue: String(v) })),
    });
    return {
      ResultSet: {
        Rows: [
          cells('channel', 'class', 'discrepancies', 'fen'),
          ...(this.world.totals ?? []).map((t) => cells(...t)),
        ],
        ResultSetMetadata: {
          ColumnInfo: ['channel', 'class', 'discrepancies', 'fen'].map((Name) => ({ Name, Type: 'varchar' })),
        },
      },
      UpdateCount: 0,
    };
  }
}

interface Run {
  readonly result: ExecutionResult;
  readonly aws: FakeAws;
}

async function execute(machine: JsonataDefinition, world: World): Promise<Run> {
  const aws = new FakeAws(world);
  const result = await runJsonataMachine(machine, {
    name: executionName,
    startTime,
    stateMachineArn,
    input: world.input ?? { scheduled_time: scheduledTime },
    services: aws.call,
    maxSteps: 400,
  });
  return { result, aws };
}

const succeeded = ({ result }: Run) =>
  assert.equal(result.status, 'SUCCEEDED', `${result.status}: ${result.error} ${result.cause ?? ''}`);
const output = ({ result }: Run) =>
  result.output as {
    bill_date: string;
    accounts: Record<string, number>;
    missing: unknown[];
    discrepancies: number;
  };
const fetchesOf = ({ result }: Run, channel: string, id: string) =>
  result.calls.filter(
    (c) =>
      c.state === 'Fetch' &&
      (c.arguments as { Payload: AccountRef }).Payload.channel === channel &&
      (c.arguments as { Payload: AccountRef }).Payload.account === id,
  );
const metricsNamed = ({ aws }: Run, name: string) => aws.metrics.filter((line) => name in line);
const waits = ({ result }: Run) => result.states.filter((s) => s === 'WaitForPublication').length;

const wechat1 = account('wechat', '1900000109', ['M1', 'M2']);
const wechat2 = account('wechat', '1900000200', ['M3']);
const quiet = account('fshows', 'merchant_id=F1', ['M4'], false);
const notPublished: AccountResult = { kind: 'not_published', said: 'NO_BILL_EXIST' };

interface Scenario {
  readonly title: string;
  readonly world: World;
  readonly check: (run: Run) => void;
}

const scenarios: Scenario[] = [
  {
    title:
      'fetches every account once when all are published, records them, compares in Athena and publishes',
    world: {
      accounts: [wechat1, wechat2, quiet],
      totals: [
        ['wechat', 'missing_local', 2, 1000],
        ['wechat', 'amount_mismatch', 1, 1],
      ],
    },
    check(run) {
      succeeded(run);
      assert.deepEqual(run.result.states, [
        'Day',
        'ListAccounts',
        'FetchRound',
        'Pending?',
        'Record',
        'ListDiscrepancies',
        'Cleared?',
        'Compare',
        'Totals',
        'TotalsResults',
        'Publish',
        'Done',
      ]);
      // The schedule fired 10:30 on 2 December in Shanghai: the day reconciled is 1 December.
      const [listed] = run.result.calls.filter((c) => c.state === 'ListAccounts');
      assert.deepEqual(listed?.arguments, { FunctionName: functions.accounts, Payload: { bill_date: day } });
      for (const a of [wechat1, wechat2, quiet]) assert.equal(fetchesOf(run, a.channel, a.account).length, 1);
      assert.deepEqual(fetchesOf(run, 'wechat', '1900000109')[0]?.arguments, {
        FunctionName: functions.fetch,
        Payload: { bill_date: day, channel: 'wechat', account: '1900000109', merchant_ids: ['M1', 'M2'] },
      });
      // One line per merchant of each account, as the accounts file the comparison reads.
      assert.deepEqual(
        run.aws.recorded[0]?.map((l) => [l.channel, l.account, l.merchant_id, l.bill_date, l.status]),
        [
          ['wechat', '1900000109', 'M1', day, 'fetched'],
          ['wechat', '1900000109', 'M2', day, 'fetched'],
          ['wechat', '1900000200', 'M3', day, 'fetched'],
          ['fshows', 'merchant_id=F1', 'M4', day, 'no_statement'],
        ],
      );
      const [compare, totals] = run.aws.queries;
      assert.equal(
        compare?.query,
        `UNLOAD (\n${readSql('reconcile').trimEnd()}\n) TO 's3://${bucket}/${discrepanciesFolder}' WITH (format = 'PARQUET', compression = 'SNAPPY')`,
      );
      assert.equal(discrepanciesFolder, `reconciliation/bill_date=${day}/`);
      assert.deepEqual(compare?.parameters, Array(7).fill(`'${day}'`));
      assert.equal(totals?.query, readSql('reconciliation-totals'));
      assert.deepEqual(totals?.parameters, [`'${day}'`]);
      assert.equal(metricsNamed(run, 'StatementNotPublished').length, 0);
      assert.deepEqual(
        metricsNamed(run, 'ReconciliationDiscrepancies').map((m) => [
          m.channel,
          m.class,
          m.ReconciliationDiscrepancies,
        ]),
        [
          ['wechat', 'missing_local', 2],
          ['wechat', 'amount_mismatch', 1],
        ],
      );
      assert.deepEqual(output(run), {
        bill_date: day,
        accounts: { fetched: 2, not_published: 0, unknown: 0, no_statement: 1 },
        missing: [],
        discrepancies: 3,
      });
    },
  },
  {
    title: 'fetches a statement not published yet again an hour later, until it is, and only that one',
    world: {
      accounts: [wechat1, wechat2],
      fetches: { 'wechat/1900000200': [notPublished, notPublished, { kind: 'fetched', rows: 7 }] },
    },
    check(run) {
      succeeded(run);
      assert.equal(fetchesOf(run, 'wechat', '1900000200').length, 3);
      assert.equal(fetchesOf(run, 'wechat', '1900000109').length, 1);
      assert.equal(waits(run), 2);
      assert.equal(
        (definition.States.WaitForPublication as AslState & { Seconds: number }).Seconds,
        3600,
        'an hour apart',
      );
      assert.deepEqual(
        run.aws.recorded[0]?.map((l) => l.status),
        ['fetched', 'fetched', 'fetched'],
      );
      assert.equal(metricsNamed(run, 'StatementNotPublished').length, 0);
      assert.deepEqual(output(run).missing, []);
    },
  },
  {
    title:
      'records a statement still not published after a day of hourly tries, and alarms on it, but compares the rest',
    world: { accounts: [wechat1, wechat2], fetches: { 'wechat/1900000200': [notPublished] } },
    check(run) {
      succeeded(run);
      // The first try and 24 more, an hour apart: a day.
      assert.equal(fetchesOf(run, 'wechat', '1900000200').length, 25);
      assert.equal(waits(run), 24);
      assert.equal(fetchesOf(run, 'wechat', '1900000109').length, 1);
      const lines = run.aws.recorded[0] ?? [];
      assert.deepEqual(
        lines.find((l) => l.account === '1900000200'),
        {
          channel: 'wechat',
          account: '1900000200',
          merchant_id: 'M3',
          bill_date: day,
          status: 'not_published',
          said: 'NO_BILL_EXIST',
        },
      );
      assert.deepEqual(
        metricsNamed(run, 'StatementNotPublished').map((m) => [m.channel, m.StatementNotPublished]),
        [['wechat', 1]],
      );
      assert.deepEqual(output(run).missing, [
        { channel: 'wechat', account: '1900000200', status: 'not_published', said: 'NO_BILL_EXIST' },
      ]);
      assert.ok(run.result.states.includes('Compare'));
    },
  },
  {
    title: 'fetches at most four statements at once',
    world: {
      accounts: Array.from({ length: 10 }, (_, i) => account('wechat', `19000001${i}`, [`M${i}`])),
    },
    check(run) {
      succeeded(run);
      assert.equal(run.aws.maxInFlight, 4);
      assert.equal(run.result.calls.filter((c) => c.state === 'Fetch').length, 10);
    },
  },
  {
    title: 'reconciles the day a person asks for, rather than the day before',
    world: { input: { bill_date: '2026-11-15' }, accounts: [wechat1] },
    check(run) {
      succeeded(run);
      assert.equal(output(run).bill_date, '2026-11-15');
      assert.match(run.aws.queries[0]?.query ?? '', /reconciliation\/bill_date=2026-11-15\/' WITH/);
      assert.ok(run.aws.recorded[0]?.every((l) => l.bill_date === '2026-11-15'));
    },
  },
  {
    title: 'clears what an earlier run of the day wrote before comparing again, and nothing of another day',
    world: {
      accounts: [wechat1],
      objects: [
        `reconciliation/bill_date=${day}/20261202_023512_00021_old_1`,
        `reconciliation/bill_date=${day}/20261202_023512_00021_old_2`,
        'reconciliation/bill_date=2026-11-30/20261201_023512_00021_keep',
      ],
    },
    check(run) {
      succeeded(run);
      const kept = [...run.aws.objects].filter((k) => k.startsWith('reconciliation/')).sort();
      assert.equal(kept.length, 2);
      assert.equal(kept[0], 'reconciliation/bill_date=2026-11-30/20261201_023512_00021_keep');
      assert.match(
        kept[1] ?? '',
        new RegExp(`^reconciliation/bill_date=${day}/20261202_023512_00021_abcde_`),
      );
      assert.deepEqual(
        run.result.states.filter((s) => /Discrepancies|Cleared/.test(s)),
        ['ListDiscrepancies', 'Cleared?', 'DeleteDiscrepancies', 'ListDiscrepancies', 'Cleared?'],
      );
    },
  },
  {
    title:
      'counts an account whose fetch function keeps failing as not fetched after a day, and alarms on it',
    world: {
      accounts: [wechat1, wechat2],
      fetches: {
        'wechat/1900000200': [new StatesError('Sandbox.Timedout', 'Task timed out after 300.00 seconds')],
      },
    },
    check(run) {
      succeeded(run);
      // Each round: the try and two retries of a failing function.
      assert.equal(fetchesOf(run, 'wechat', '1900000200').length, 25 * 3);
      assert.deepEqual(
        metricsNamed(run, 'StatementNotFetched').map((m) => [m.channel, m.StatementNotFetched]),
        [['wechat', 1]],
      );
      assert.deepEqual(output(run).missing, [
        { channel: 'wechat', account: '1900000200', status: 'unknown', said: 'Sandbox.Timedout' },
      ]);
      assert.equal(fetchesOf(run, 'wechat', '1900000109').length, 1);
    },
  },
  {
    title: 'fails the run when the comparison fails, and publishes nothing',
    world: { accounts: [wechat1], failedQueries: ['Compare'] },
    check(run) {
      assert.equal(run.result.status, 'FAILED');
      assert.equal(run.result.error, 'ReconciliationFailed');
      assert.equal(run.aws.queries.filter((q) => q.state === 'Compare').length, 1, 'not retried');
      assert.equal(metricsNamed(run, 'ReconciliationDiscrepancies').length, 0);
      assert.ok(!run.result.states.includes('Publish'));
    },
  },
];

type States = Record<string, AslState & Record<string, never>>;
/** Replaces `from` with `to` in one field of one state; the field must hold `from` (no silent no-op). */
const plant =
  (path: (string | number)[], from: string, to: string) =>
  (states: States): void => {
    const holder = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>(
        (node, key) => node[key] as Record<string | number, unknown>,
        states as unknown as Record<string, unknown>,
      );
    const key = path.at(-1) as string | number;
    // Replaced in the JSON text, each escaped as the text holds it.
    const escaped = (text: string) => JSON.stringify(text).slice(1, -1);
    const value = JSON.stringify(holder[key]);
    assert.ok(value.includes(escaped(from)), `${path.join('.')} holds ${from}: ${value}`);
    holder[key] = JSON.parse(value.replace(escaped(from), escaped(to)));
  };
const inner = ['FetchRound', 'ItemProcessor', 'States'];

/** Bugs planted in a copy of the definition: each must fail at least one scenario. */
const bugs: Record<string, (states: States) => void> = {
  'Day: the UTC day of the schedule, not the UTC+8 day before': plant(
    ['Day', 'Assign', 'billDate'],
    '- 86400000',
    '- 0',
  ),
  'Day: the day a person asks for ignored': plant(
    ['Day', 'Assign', 'billDate'],
    '$exists($states.input.bill_date)',
    'false',
  ),
  'FetchRound: no bound on concurrency': plant(['FetchRound', 'MaxConcurrency'], '4', '40'),
  'FetchRound: the merchants left out of the fetch': plant(
    ['FetchRound', 'ItemSelector', 'merchant_ids'],
    'merchant_ids',
    'account',
  ),
  'FetchRound: not_published counted as done': plant(
    ['FetchRound', 'Assign', 'pending'],
    "result.kind = 'not_published' or ",
    '',
  ),
  'FetchRound: a failing fetch dropped from the retries': plant(
    ['FetchRound', 'Assign', 'pending'],
    " or result.kind = 'unknown'",
    '',
  ),
  'Pending?: gives up after a few hours': plant(['Pending?', 'Choices', 1, 'Condition'], '>= 25', '>= 3'),
  'Pending?: never waits': plant(['Pending?', 'Default'], 'WaitForPublication', 'Record'),
  'Fetch: a failing function fails the run': plant(
    [...inner, 'Fetch', 'Catch', 0, 'ErrorEquals', 0],
    'States.ALL',
    'Lambda.ServiceException',
  ),
  'Record: the accounts still pending left out': plant(
    ['Record', 'Arguments', 'Payload', 'accounts'],
    '$last',
    '[]',
  ),
  'Cleared?: compares over an earlier run’s files': plant(
    ['Cleared?', 'Choices', 0, 'Next'],
    'DeleteDiscrepancies',
    'Compare',
  ),
  'Compare: one parameter for all the markers': plant(
    ['Compare', 'Arguments', 'ExecutionParameters'],
    '[1..7]',
    '[1..1]',
  ),
  'Compare: written beside the day’s partition': plant(
    ['Compare', 'Arguments', 'QueryString'],
    'bill_date=',
    'day=',
  ),
  'Compare: retried on any failure': plant(
    ['Compare', 'Retry', 0, 'ErrorEquals', 0],
    'Athena.TooManyRequestsException',
    'States.ALL',
  ),
  'TotalsResults: another query’s results': plant(
    ['TotalsResults', 'Arguments', 'QueryExecutionId'],
    '$totalsQuery',
    "'x'",
  ),
  'Publish: the rows without their header': plant(
    ['Publish', 'Arguments', 'Payload', 'result_set'],
    '$totals',
    '{"Rows": $totals.Rows[[1..100]]}',
  ),
};

describe('the reconciliation state machine, run from the template with aws-local-stepfunctions', () => {
  it('is the ASL file, every placeholder filled by a substitution of the template and none left over', () => {
    assert.equal(deployedText, readFileSync(reconciliationAslPath, 'utf8'));
    const placeholders = [...deployedText.matchAll(/\$\{(\w+)\}/g)].map(([, name]) => name);
    assert.deepEqual([...new Set(placeholders)].sort(), Object.keys(substitutions).sort());
    assert.equal(substitutions.FetchFunctionArn, functions.fetch);
    assert.equal(substitutions.BucketName, bucket);
    assert.equal(definition.QueryLanguage, 'JSONata');
  });

  for (const scenario of scenarios)
    it(scenario.title, async () => {
      scenario.check(await execute(definition, scenario.world));
    });

  it('fails a scenario for each bug planted in a copy of the definition', async () => {
    const missed: string[] = [];
    for (const [bug, mutate] of Object.entries(bugs)) {
      const mutant = structuredClone(definition) as JsonataDefinition & { States: States };
      mutate(mutant.States);
      let caught = false;
      for (const scenario of scenarios) {
        try {
          scenario.check(await execute(mutant, scenario.world));
        } catch {
          caught = true;
          break;
        }
      }
      if (!caught) missed.push(bug);
    }
    assert.deepEqual(missed, [], 'planted bugs no scenario fails on');
  });
});
