import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { describe, it } from 'vitest';
import { substitute } from '#adapters/asl.ts';
import { currentViewSql, financeTables } from '#finance/catalog.ts';
import { readSql } from '#finance/sql.ts';
import { financeExportAslPath } from '../../lib/finance-exports.ts';
import { account, deployedStacks } from './deployed-template.ts';
import {
  type AslState,
  type ExecutionResult,
  type JsonataDefinition,
  runJsonataMachine,
  type ServiceCall,
  StatesError,
} from './jsonata-machine.ts';

// The finance export state machine as the first region's template deploys it: its DefinitionString with its
// DefinitionSubstitutions, both resolved. A placeholder the template does not give fails here, at substitute().
const [deployed] = deployedStacks();
if (!deployed) throw new Error('no stack');
const { stack, gateway, resources, resolve } = deployed;
const logicalId = (construct: IConstruct) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
const propertiesOf = <T>(construct: IConstruct) => resolve(resources[logicalId(construct)]?.Properties) as T;
const { finance } = gateway;
const machineProperties = resources[logicalId(finance.stateMachine)]?.Properties ?? {};
const substitutions = resolve(machineProperties.DefinitionSubstitutions) as Record<string, string>;
const deployedText = resolve(machineProperties.DefinitionString) as string;
const definition = JSON.parse(substitute(deployedText, substitutions)) as JsonataDefinition;

// What the definition must name, each read from its own resource rather than from the substitutions.
const stateMachineArn = resolve({ Ref: logicalId(finance.stateMachine) }) as string;
const ordersTableArn = resolve({ 'Fn::GetAtt': [logicalId(gateway.tables.orders), 'Arn'] }) as string;
const bucket = resolve({ Ref: logicalId(finance.bucket) }) as string;
const exportRoleArn = resolve({ 'Fn::GetAtt': [logicalId(finance.exportRole), 'Arn'] }) as string;
const curateRoleArn = resolve({ 'Fn::GetAtt': [logicalId(finance.curateRole), 'Arn'] }) as string;
const workGroup = propertiesOf<{
  Name: string;
  WorkGroupConfiguration: { ResultConfiguration: { OutputLocation: string } };
}>(finance.workGroup);
const database = propertiesOf<{ DatabaseInput: { Name: string } }>(finance.database).DatabaseInput.Name;
type GlueTable = { TableInput: { Name: string; Parameters: Record<string, string> } };
const rawTable = propertiesOf<GlueTable>(finance.rawTable).TableInput;
const curatedTable = propertiesOf<GlueTable>(finance.curatedTable).TableInput;
const refundsTable = propertiesOf<GlueTable>(finance.refundsTable).TableInput;
/** A Glue table's partition location, its projection template filled in. */
const partitionOf = (table: GlueTable['TableInput'], values: Record<string, string>) =>
  (table.Parameters['storage.location.template'] ?? '').replace(
    /\$\{(\w+)\}/g,
    (_, k: string) => values[k] ?? '?',
  );

// The scheduled run: EventBridge Scheduler starts it at 00:30 in Shanghai with `{}`.
const executionName = 'c8f5e0b2-5d1e-4b57-9a39-1d8a3f0e2b61';
const startTime = '2026-12-01T16:30:00.123Z';
const dt = '2026-12-01';

type ExportStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/** What AWS holds and how it behaves in one run. */
interface World {
  /** The ExportStatus each DescribeExport answers, in turn; the last one stays. */
  readonly exportStatuses: readonly ExportStatus[];
  /** Object keys in the finance bucket before the run. */
  readonly objects?: readonly string[];
  /** What a state's calls throw, first call first (`undefined`: that call is answered). */
  readonly faults?: Readonly<Record<string, readonly (StatesError | undefined)[]>>;
  /** States whose Athena query ends FAILED. */
  readonly failedQueries?: readonly string[];
}

const hex = (text: string, length: number) =>
  createHash('sha256').update(text).digest('hex').slice(0, length);
const iso = (offsetSeconds: number) => new Date(Date.parse(startTime) + offsetSeconds * 1000).toISOString();

/** The request members of an operation (its API reference) and those it requires: any other is refused. */
function request(call: ServiceCall, members: readonly string[], required: readonly string[]) {
  const operation = call.resource.split(':').pop();
  const args = call.arguments as Record<string, unknown>;
  assert.ok(args !== null && typeof args === 'object' && !Array.isArray(args), `${operation}: an object`);
  for (const key of Object.keys(args))
    assert.ok(members.includes(key), `${operation}: ${key} is not a request member`);
  for (const key of required) assert.ok(args[key] !== undefined, `${operation}: ${key} is required`);
  // biome-ignore lint/suspicious/noExplicitAny: checked member by member by each fake
  return args as Record<string, any>;
}
const oneOf = (value: unknown, values: readonly string[], what: string) =>
  assert.ok(value === undefined || values.includes(String(value)), `${what} must be one of ${values}`);

/**
 * DynamoDB, S3 and Athena as Step Functions' integrations answer them: PascalCase members as in each API
 * reference, errors named `<Service>.<Exception>` (AWS SDK integrations), an Athena `.sync` query that fails
 * as States.TaskFailed with its GetQueryExecution response as the cause.
 */
class FakeAws {
  readonly objects = new Map<string, { Size: number; ETag: string }>();
  readonly queries: { state: string; id: string; query: string }[] = [];
  private exportDescription: Record<string, unknown> | undefined;
  private readonly statuses: ExportStatus[];
  private readonly faults: Record<string, (StatesError | undefined)[]>;
  private readonly failedQueries: readonly string[];

  constructor(world: World) {
    for (const key of world.objects ?? []) this.put(key);
    this.statuses = [...world.exportStatuses];
    this.faults = Object.fromEntries(Object.entries(world.faults ?? {}).map(([k, v]) => [k, [...v]]));
    this.failedQueries = world.failedQueries ?? [];
  }

  readonly call = (call: ServiceCall): unknown => {
    const fault = this.faults[call.state]?.shift();
    if (fault) throw fault;
    switch (call.resource) {
      case 'arn:aws:states:::aws-sdk:dynamodb:exportTableToPointInTime':
        return this.exportTable(call);
      case 'arn:aws:states:::aws-sdk:dynamodb:describeExport':
        return this.describeExport(call);
      case 'arn:aws:states:::aws-sdk:s3:listObjectsV2':
        return this.listObjects(call);
      case 'arn:aws:states:::aws-sdk:s3:deleteObjects':
        return this.deleteObjects(call);
      case 'arn:aws:states:::athena:startQueryExecution.sync':
        return this.query(call);
      default:
        throw new Error(`no fake for ${call.resource}`);
    }
  };

  private put(key: string): void {
    this.objects.set(key, { Size: 1024, ETag: `"${hex(key, 32)}"` });
  }

  private exportTable(call: ServiceCall) {
    const args = request(
      call,
      [
        'TableArn',
        'ExportTime',
        'ClientToken',
        'S3Bucket',
        'S3BucketOwner',
        'S3Prefix',
        'S3SseAlgorithm',
        'S3SseKmsKeyId',
        'ExportFormat',
        'ExportType',
        'IncrementalExportSpecification',
      ],
      ['TableArn', 'S3Bucket'],
    );
    oneOf(args.S3SseAlgorithm, ['AES256', 'KMS'], 'S3SseAlgorithm');
    oneOf(args.ExportFormat, ['DYNAMODB_JSON', 'ION'], 'ExportFormat');
    oneOf(args.ExportType, ['FULL_EXPORT', 'INCREMENTAL_EXPORT'], 'ExportType');
    if (args.TableArn !== ordersTableArn)
      throw new StatesError('DynamoDb.TableNotFoundException', `Table not found: ${args.TableArn}`);
    // The same client token within 8 hours is the same export (DynamoDB's idempotency).
    if (this.exportDescription?.ClientToken !== args.ClientToken || args.ClientToken === undefined) {
      const exportId = `${String(Date.parse(startTime)).padStart(14, '0')}-${hex(String(args.ClientToken), 8)}`;
      this.exportDescription = {
        ExportArn: `${args.TableArn}/export/${exportId}`,
        ExportStatus: 'IN_PROGRESS',
        StartTime: iso(1),
        TableArn: args.TableArn,
        TableId: 'b1c2d3e4-5f60-4718-9a2b-3c4d5e6f7a8b',
        ExportTime: iso(1),
        ClientToken: args.ClientToken,
        S3Bucket: args.S3Bucket,
        S3BucketOwner: args.S3BucketOwner,
        S3Prefix: args.S3Prefix,
        S3SseAlgorithm: args.S3SseAlgorithm,
        ExportFormat: args.ExportFormat ?? 'DYNAMODB_JSON',
        ExportType: args.ExportType ?? 'FULL_EXPORT',
      };
    }
    return { ExportDescription: structuredClone(this.exportDescription) };
  }

  private describeExport(call: ServiceCall) {
    const args = request(call, ['ExportArn'], ['ExportArn']);
    const description = this.exportDescription;
    if (!description || args.ExportArn !== description.ExportArn)
      throw new StatesError('DynamoDb.ExportNotFoundException', `Export not found: ${args.ExportArn}`);
    const status = this.statuses.length > 1 ? this.statuses.shift() : this.statuses[0];
    if (status !== description.ExportStatus) {
      description.ExportStatus = status;
      const folder = `${description.S3Prefix}/AWSDynamoDB/${String(description.ExportArn).split('/').pop()}/`;
      if (status === 'COMPLETED') {
        // DynamoDB's export layout: data/ beside the manifests, under <prefix>/AWSDynamoDB/<export id>/.
        for (const file of [
          'data/6g2ehsf3oy5vrnvx3shtuyhzjm.json.gz',
          'manifest-files.json',
          'manifest-summary.json',
        ])
          this.put(`${folder}${file}`);
        Object.assign(description, {
          EndTime: iso(600),
          ExportManifest: `${folder}manifest-summary.json`,
          BilledSizeBytes: 20480,
          ItemCount: 42,
        });
      }
      if (status === 'FAILED')
        Object.assign(description, {
          EndTime: iso(600),
          FailureCode: 'S3AccessDenied',
          FailureMessage: `Access denied writing to s3://${bucket}/${description.S3Prefix}`,
        });
    }
    return { ExportDescription: structuredClone(description) };
  }

  private checkBucket(name: unknown) {
    if (name !== bucket)
      throw new StatesError('S3.NoSuchBucketException', `The specified bucket does not exist: ${name}`);
  }

  private listObjects(call: ServiceCall) {
    const args = request(
      call,
      [
        'Bucket',
        'Delimiter',
        'EncodingType',
        'MaxKeys',
        'Prefix',
        'ContinuationToken',
        'FetchOwner',
        'StartAfter',
        'RequestPayer',
        'ExpectedBucketOwner',
        'OptionalObjectAttributes',
      ],
      ['Bucket'],
    );
    this.checkBucket(args.Bucket);
    const prefix = String(args.Prefix ?? '');
    const maxKeys = Math.min(Number(args.MaxKeys ?? 1000), 1000);
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    const page = keys.slice(0, maxKeys);
    return {
      IsTruncated: keys.length > maxKeys,
      // S3 leaves Contents out when nothing matches.
      ...(page.length > 0
        ? {
            Contents: page.map((Key) => ({
              Key,
              LastModified: iso(-86400),
              ...this.objects.get(Key),
              StorageClass: 'STANDARD',
            })),
          }
        : {}),
      Name: args.Bucket,
      Prefix: prefix,
      MaxKeys: maxKeys,
      KeyCount: page.length,
      ...(keys.length > maxKeys ? { NextContinuationToken: hex(page.at(-1) ?? '', 40) } : {}),
    };
  }

  private deleteObjects(call: ServiceCall) {
    const args = request(
      call,
      [
        'Bucket',
        'Delete',
        'MFA',
        'RequestPayer',
        'BypassGovernanceRetention',
        'ExpectedBucketOwner',
        'ChecksumAlgorithm',
      ],
      ['Bucket', 'Delete'],
    );
    this.checkBucket(args.Bucket);
    const { Objects: objects, Quiet: quiet, ...rest } = args.Delete as { Objects?: unknown; Quiet?: unknown };
    assert.deepEqual(Object.keys(rest), [], 'Delete has Objects and Quiet only');
    const malformed = new StatesError(
      'S3.S3Exception',
      'The XML you provided was not well-formed (MalformedXML)',
    );
    if (!Array.isArray(objects) || objects.length === 0 || objects.length > 1000) throw malformed;
    for (const object of objects) if (typeof object?.Key !== 'string') throw malformed;
    const keys = (objects as { Key: string }[]).map((o) => o.Key);
    for (const key of keys) this.objects.delete(key);
    // A versioned bucket keeps the objects behind delete markers.
    return quiet === true
      ? {}
      : { Deleted: keys.map((Key) => ({ Key, DeleteMarker: true, DeleteMarkerVersionId: hex(Key, 32) })) };
  }

  private query(call: ServiceCall) {
    const args = request(
      call,
      [
        'QueryString',
        'ClientRequestToken',
        'QueryExecutionContext',
        'ResultConfiguration',
        'WorkGroup',
        'ExecutionParameters',
        'ResultReuseConfiguration',
      ],
      ['QueryString'],
    );
    if (args.WorkGroup !== workGroup.Name)
      throw new StatesError('Athena.InvalidRequestException', `WorkGroup ${args.WorkGroup} is not found.`);
    for (const key of Object.keys(args.QueryExecutionContext ?? {}))
      assert.ok(['Database', 'Catalog'].includes(key), `QueryExecutionContext: ${key} is not a member`);
    const parameters = (args.ExecutionParameters ?? []) as unknown[];
    assert.ok(
      parameters.every((p) => typeof p === 'string'),
      'ExecutionParameters are strings',
    );
    // Athena refuses a query whose `?` markers (outside comments and literals) and parameters differ in number.
    const markers =
      String(args.QueryString)
        .replace(/--[^\n]*/g, '')
        .replace(/'(?:[^']|'')*'/g, '')
        .split('?').length - 1;
    if (markers !== parameters.length)
      throw new StatesError(
        'Athena.InvalidRequestException',
        `The query has ${markers} parameter markers; ${parameters.length} parameters were given`,
      );
    const id = `${hex(`${call.state}${this.queries.length}`, 8)}-1f2e-4d3c-8b4a-${hex(call.state, 12)}`;
    this.queries.push({ state: call.state, id, query: String(args.QueryString) });
    const failed = this.failedQueries.includes(call.state);
    const error = 'HIVE_BAD_DATA: Error parsing field value for field 3: For input string: "x"';
    const queryExecution = {
      QueryExecutionId: id,
      Query: args.QueryString,
      StatementType: /^\s*(INSERT|SELECT|WITH)\b/i.test(String(args.QueryString)) ? 'DML' : 'DDL',
      ResultConfiguration: {
        OutputLocation: `${workGroup.WorkGroupConfiguration.ResultConfiguration.OutputLocation}${id}.txt`,
        EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
      },
      QueryExecutionContext: args.QueryExecutionContext,
      Status: {
        State: failed ? 'FAILED' : 'SUCCEEDED',
        SubmissionDateTime: iso(700),
        CompletionDateTime: iso(760),
        ...(failed
          ? {
              StateChangeReason: error,
              AthenaError: { ErrorCategory: 2, ErrorType: 1002, Retryable: false, ErrorMessage: error },
            }
          : {}),
      },
      Statistics: {
        EngineExecutionTimeInMillis: 58000,
        DataScannedInBytes: 20480,
        TotalExecutionTimeInMillis: 60000,
      },
      WorkGroup: args.WorkGroup,
      EngineVersion: {
        SelectedEngineVersion: 'Athena engine version 3',
        EffectiveEngineVersion: 'Athena engine version 3',
      },
      ...(parameters.length > 0 ? { ExecutionParameters: parameters } : {}),
    };
    if (failed)
      throw new StatesError('States.TaskFailed', JSON.stringify({ QueryExecution: queryExecution }));
    return { QueryExecution: queryExecution };
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
    input: {},
    services: aws.call,
  });
  return { result, aws };
}

const callsOf = (run: Run, state: string) => run.result.calls.filter((c) => c.state === state);
const succeeded = ({ result }: Run) =>
  assert.equal(result.status, 'SUCCEEDED', `${result.status}: ${result.error} ${result.cause ?? ''}`);
/** The failure the execution ended with, and the cause parsed (both Fail states give JSON). */
const failed = ({ result }: Run, error: string) => {
  assert.equal(result.status, 'FAILED', `${result.status}: ${JSON.stringify(result.output)}`);
  assert.equal(result.error, error, result.cause);
  return JSON.parse(result.cause ?? '') as Record<string, unknown>;
};
const exportsDone = [
  'Export',
  'WaitForExport',
  'DescribeExport',
  'Exported?',
  'WaitForExport',
  'DescribeExport',
];
const curatedPartition = partitionOf(curatedTable, { dt }).replace(`s3://${bucket}/`, '');
const refundsPartition = partitionOf(refundsTable, { dt }).replace(`s3://${bucket}/`, '');

interface Scenario {
  readonly title: string;
  readonly world: World;
  readonly check: (run: Run) => void;
}

const scenarios: Scenario[] = [
  {
    title: 'exports the orders table, waits for the export, curates it with the SQL file and publishes it',
    world: { exportStatuses: ['IN_PROGRESS', 'COMPLETED'] },
    check(run) {
      succeeded(run);
      assert.deepEqual(run.result.states, [
        'Day',
        ...exportsDone,
        'Exported?',
        'ListCurated',
        'Cleared?',
        'ListCuratedRefunds',
        'RefundsCleared?',
        'Curate',
        'CurateRefunds',
        'PublishRefundsCurrent',
        'PublishCurrent',
        'Done',
      ]);
      const [exported] = callsOf(run, 'Export');
      assert.equal(exported?.roleArn, exportRoleArn);
      assert.deepEqual(exported?.arguments, {
        TableArn: ordersTableArn,
        S3Bucket: bucket,
        S3BucketOwner: account,
        S3Prefix: `exports/orders/dt=${dt}`,
        S3SseAlgorithm: 'AES256',
        ExportFormat: 'DYNAMODB_JSON',
        ExportType: 'FULL_EXPORT',
        ClientToken: executionName,
      });
      const exportArn = `${ordersTableArn}/export/01796142600123-${hex(executionName, 8)}`;
      const exportId = exportArn.split('/').pop() ?? '';
      for (const call of callsOf(run, 'DescribeExport')) {
        assert.equal(call.roleArn, exportRoleArn);
        assert.deepEqual(call.arguments, { ExportArn: exportArn });
      }
      const [listed] = callsOf(run, 'ListCurated');
      assert.equal(listed?.roleArn, curateRoleArn);
      // The partition cleared is the one the curated table's projection reads for the day.
      assert.deepEqual(listed?.arguments, { Bucket: bucket, Prefix: curatedPartition, MaxKeys: 1000 });
      const [listedRefunds] = callsOf(run, 'ListCuratedRefunds');
      assert.equal(listedRefunds?.roleArn, curateRoleArn);
      assert.deepEqual(listedRefunds?.arguments, { Bucket: bucket, Prefix: refundsPartition, MaxKeys: 1000 });
      assert.equal(refundsPartition, `curated/refunds/dt=${dt}/`);
      const [curate] = callsOf(run, 'Curate');
      assert.equal(curate?.roleArn, curateRoleArn);
      assert.deepEqual(curate?.arguments, {
        QueryString: `INSERT INTO ${curatedTable.Name}\n${readSql('curate-orders')}`,
        ExecutionParameters: [`'${dt}'`, `'${exportId}'`],
        QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: database },
        WorkGroup: workGroup.Name,
      });
      // The raw table's partition for those parameters is the data/ folder DynamoDB wrote, manifests beside it.
      const parameters = (curate?.arguments.ExecutionParameters ?? []) as string[];
      const [dtParameter = '', exportIdParameter = ''] = parameters.map((p) => p.slice(1, -1));
      const rawPartition = partitionOf(rawTable, {
        dt: dtParameter,
        export_id: exportIdParameter,
      });
      const written = [...run.aws.objects.keys()].map((key) => `s3://${bucket}/${key}`);
      assert.deepEqual(
        written.filter((url) => url.startsWith(rawPartition)),
        [`${rawPartition}6g2ehsf3oy5vrnvx3shtuyhzjm.json.gz`],
      );
      // The refunds: their SQL file into their table, from the same export with the same parameters.
      const [curateRefunds] = callsOf(run, 'CurateRefunds');
      assert.equal(curateRefunds?.roleArn, curateRoleArn);
      assert.deepEqual(curateRefunds?.arguments, {
        QueryString: `INSERT INTO ${refundsTable.Name}\n${readSql('curate-refunds')}`,
        ExecutionParameters: [`'${dt}'`, `'${exportId}'`],
        QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: database },
        WorkGroup: workGroup.Name,
      });
      const [publishedRefunds] = callsOf(run, 'PublishRefundsCurrent');
      assert.equal(publishedRefunds?.roleArn, curateRoleArn);
      assert.deepEqual(publishedRefunds?.arguments, {
        QueryString: currentViewSql(dt, 'refunds'),
        QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: database },
        WorkGroup: workGroup.Name,
      });
      assert.match(
        currentViewSql(dt, 'refunds'),
        new RegExp(`VIEW ${financeTables.refundsCurrent} AS SELECT \\* FROM ${refundsTable.Name} `),
      );
      assert.deepEqual(
        run.aws.queries.map((q) => q.state),
        ['Curate', 'CurateRefunds', 'PublishRefundsCurrent', 'PublishCurrent'],
      );
      const [published] = callsOf(run, 'PublishCurrent');
      assert.equal(published?.roleArn, curateRoleArn);
      assert.deepEqual(published?.arguments, {
        QueryString: currentViewSql(dt),
        QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: database },
        WorkGroup: workGroup.Name,
      });
      assert.match(
        currentViewSql(dt),
        new RegExp(`VIEW ${financeTables.current} AS SELECT \\* FROM ${curatedTable.Name} `),
      );
      assert.deepEqual(run.result.output, { dt, export_id: exportId });
      assert.deepEqual(run.result.retries, []);
    },
  },
  {
    title:
      'on a rerun, empties the day’s curated partitions (1001 objects, two pages; 2 refunds files) and only them, then curates',
    world: {
      exportStatuses: ['COMPLETED'],
      objects: [
        ...Array.from(
          { length: 1001 },
          (_, i) => `curated/orders/dt=${dt}/part-${String(i).padStart(5, '0')}.parquet`,
        ),
        `curated/refunds/dt=${dt}/part-00000.parquet`,
        `curated/refunds/dt=${dt}/part-00001.parquet`,
        'curated/orders/dt=2026-11-30/part-00000.parquet',
        'curated/refunds/dt=2026-11-30/part-00000.parquet',
        `curated/orders/dt=${dt}x/unrelated.parquet`,
        'athena-results/earlier.txt',
      ],
    },
    check(run) {
      succeeded(run);
      assert.deepEqual(run.result.states.slice(5, 18), [
        'ListCurated',
        'Cleared?',
        'DeleteCurated',
        'ListCurated',
        'Cleared?',
        'DeleteCurated',
        'ListCurated',
        'Cleared?',
        'ListCuratedRefunds',
        'RefundsCleared?',
        'DeleteCuratedRefunds',
        'ListCuratedRefunds',
        'RefundsCleared?',
      ]);
      assert.equal(run.result.states[18], 'Curate');
      const deletes = callsOf(run, 'DeleteCurated');
      assert.deepEqual(
        deletes.map((c) => c.arguments.Delete.Objects.length),
        [1000, 1],
      );
      assert.deepEqual(
        callsOf(run, 'DeleteCuratedRefunds').map((c) => c.arguments.Delete.Objects),
        [
          [
            { Key: `curated/refunds/dt=${dt}/part-00000.parquet` },
            { Key: `curated/refunds/dt=${dt}/part-00001.parquet` },
          ],
        ],
      );
      for (const call of [...deletes, ...callsOf(run, 'DeleteCuratedRefunds')]) {
        assert.equal(call.roleArn, curateRoleArn);
        assert.equal(call.arguments.Bucket, bucket);
        assert.equal(call.arguments.Delete.Quiet, true);
        for (const object of call.arguments.Delete.Objects) assert.deepEqual(Object.keys(object), ['Key']);
      }
      const left = [...run.aws.objects.keys()].filter((k) => !k.startsWith('exports/')).sort();
      assert.deepEqual(left, [
        'athena-results/earlier.txt',
        'curated/orders/dt=2026-11-30/part-00000.parquet',
        `curated/orders/dt=${dt}x/unrelated.parquet`,
        'curated/refunds/dt=2026-11-30/part-00000.parquet',
      ]);
    },
  },
  {
    title: 'ends as ExportFailed, with the export’s description as the cause, when the export fails',
    world: { exportStatuses: ['IN_PROGRESS', 'FAILED'] },
    check(run) {
      const description = failed(run, 'ExportFailed');
      assert.deepEqual(run.result.states, ['Day', ...exportsDone, 'Exported?', 'ExportFailed']);
      assert.equal(description.ExportStatus, 'FAILED');
      assert.equal(description.FailureCode, 'S3AccessDenied');
      assert.equal(description.TableArn, ordersTableArn);
      assert.equal(callsOf(run, 'ListCurated').length, 0);
    },
  },
  {
    title: 'retries a refused export three times, then ends as FinanceExportFailed with its error',
    world: {
      exportStatuses: ['COMPLETED'],
      faults: {
        Export: Array.from(
          { length: 4 },
          () =>
            new StatesError(
              'DynamoDb.PointInTimeRecoveryUnavailableException',
              'Point in time recovery is not enabled for table',
            ),
        ),
      },
    },
    check(run) {
      assert.deepEqual(failed(run, 'FinanceExportFailed'), {
        Error: 'DynamoDb.PointInTimeRecoveryUnavailableException',
        Cause: 'Point in time recovery is not enabled for table',
      });
      assert.deepEqual(run.result.states, ['Day', 'Export', 'Failed']);
      assert.deepEqual(run.result.retries, ['Export', 'Export', 'Export']);
    },
  },
  {
    title: 'goes on after a transient error of each SDK task, the export started once (its client token)',
    world: {
      exportStatuses: ['COMPLETED'],
      objects: [`curated/orders/dt=${dt}/part-00000.parquet`, `curated/refunds/dt=${dt}/part-00000.parquet`],
      faults: {
        Export: [new StatesError('DynamoDb.InternalServerErrorException', 'Internal server error')],
        DescribeExport: [new StatesError('DynamoDb.LimitExceededException', 'Too many requests')],
        ListCurated: [new StatesError('S3.S3Exception', 'Please reduce your request rate. (SlowDown)')],
        DeleteCurated: [
          new StatesError('S3.S3Exception', 'We encountered an internal error. (InternalError)'),
        ],
        ListCuratedRefunds: [
          new StatesError('S3.S3Exception', 'Please reduce your request rate. (SlowDown)'),
        ],
        DeleteCuratedRefunds: [
          new StatesError('S3.S3Exception', 'We encountered an internal error. (InternalError)'),
        ],
        PublishRefundsCurrent: [new StatesError('Athena.InternalServerException', 'Internal error')],
        PublishCurrent: [new StatesError('Athena.InternalServerException', 'Internal error')],
      },
    },
    check(run) {
      succeeded(run);
      assert.deepEqual(run.result.retries, [
        'Export',
        'DescribeExport',
        'ListCurated',
        'DeleteCurated',
        'ListCuratedRefunds',
        'DeleteCuratedRefunds',
        'PublishRefundsCurrent',
        'PublishCurrent',
      ]);
      const tokens = callsOf(run, 'Export').map((c) => c.arguments.ClientToken);
      assert.deepEqual(tokens, [executionName, executionName]);
    },
  },
  {
    title: 'does not retry a failed curate query (it may have written part of the partition) nor publish',
    world: { exportStatuses: ['COMPLETED'], failedQueries: ['Curate'] },
    check(run) {
      const error = failed(run, 'FinanceExportFailed');
      assert.equal(error.Error, 'States.TaskFailed');
      const cause = JSON.parse(String(error.Cause)) as { QueryExecution: { Status: { State: string } } };
      assert.equal(cause.QueryExecution.Status.State, 'FAILED');
      assert.equal(callsOf(run, 'Curate').length, 1);
      assert.equal(callsOf(run, 'CurateRefunds').length, 0);
      assert.equal(callsOf(run, 'PublishCurrent').length, 0);
      assert.equal(run.result.states.at(-1), 'Failed');
    },
  },
  {
    title:
      'does not retry a failed refunds curate, nor publish either view (orders_current stays on the last day)',
    world: { exportStatuses: ['COMPLETED'], failedQueries: ['CurateRefunds'] },
    check(run) {
      const error = failed(run, 'FinanceExportFailed');
      assert.equal(error.Error, 'States.TaskFailed');
      assert.equal(callsOf(run, 'Curate').length, 1);
      assert.equal(callsOf(run, 'CurateRefunds').length, 1);
      assert.equal(callsOf(run, 'PublishRefundsCurrent').length, 0);
      assert.equal(callsOf(run, 'PublishCurrent').length, 0);
      assert.equal(run.result.states.at(-1), 'Failed');
    },
  },
  {
    title: 'retries the curate query only when Athena throttles it',
    world: {
      exportStatuses: ['COMPLETED'],
      faults: {
        Curate: [new StatesError('Athena.TooManyRequestsException', 'Rate exceeded')],
        CurateRefunds: [new StatesError('Athena.TooManyRequestsException', 'Rate exceeded')],
      },
    },
    check(run) {
      succeeded(run);
      assert.deepEqual(run.result.retries, ['Curate', 'CurateRefunds']);
      assert.equal(run.aws.queries.filter((q) => q.state === 'Curate').length, 1);
      assert.equal(run.aws.queries.filter((q) => q.state === 'CurateRefunds').length, 1);
    },
  },
  {
    title: 'retries a failed publish three times, then ends as FinanceExportFailed',
    world: { exportStatuses: ['COMPLETED'], failedQueries: ['PublishCurrent'] },
    check(run) {
      assert.equal(failed(run, 'FinanceExportFailed').Error, 'States.TaskFailed');
      assert.equal(callsOf(run, 'PublishCurrent').length, 4);
      assert.equal(run.result.states.at(-1), 'Failed');
    },
  },
];

type States = Record<string, AslState & Record<string, never>>;
/** Replaces `from` with `to` in one field of one state; the field must hold `from` (no silent no-op). */
const plant =
  (state: string, path: (string | number)[], from: string, to: string) =>
  (states: States): void => {
    const holder = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>(
        (node, key) => node[key] as Record<string | number, unknown>,
        states[state] as Record<string, unknown>,
      );
    const key = path.at(-1) as string | number;
    const value = JSON.stringify(holder[key]);
    assert.ok(value.includes(from), `${state}.${path.join('.')} holds ${from}: ${value}`);
    holder[key] = JSON.parse(value.replace(from, to));
  };

/** Bugs planted in a copy of the definition: each must fail at least one scenario. */
const bugs: Record<string, (states: States) => void> = {
  'Day: a month, not a date': plant('Day', ['Assign', 'dt'], '0, 10', '0, 7'),
  'Export: a prefix without dt=': plant('Export', ['Arguments', 'S3Prefix'], 'dt=', ''),
  'Export: the execution id as client token': plant('Export', ['Arguments', 'ClientToken'], 'Name', 'Id'),
  'Export: the ARN read from a wrong path': plant(
    'Export',
    ['Assign', 'exportArn'],
    'ExportDescription.ExportArn',
    'ExportArn',
  ),
  'Export: the first part of the ARN as the id': plant('Export', ['Assign', 'exportId'], '[-1]', '[0]'),
  'DescribeExport: the id for the ARN': plant(
    'DescribeExport',
    ['Arguments', 'ExportArn'],
    '$exportArn',
    '$exportId',
  ),
  'DescribeExport: a status member that does not exist': plant(
    'DescribeExport',
    ['Assign', 'exportStatus'],
    'ExportStatus',
    'Status',
  ),
  'Exported?: waits for SUCCEEDED': plant('Exported?', ['Choices', 0, 'Condition'], 'COMPLETED', 'SUCCEEDED'),
  'Exported?: never sees a failed export': plant(
    'Exported?',
    ['Choices', 1, 'Condition'],
    'FAILED',
    'CANCELLED',
  ),
  'ListCurated: lists every day': plant('ListCurated', ['Arguments', 'Prefix'], 'dt=', ''),
  'ListCurated: keys, not objects of keys': plant(
    'ListCurated',
    ['Assign', 'stale'],
    ".{ 'Key': Key }",
    '.Key',
  ),
  'ListCurated: a page of one is not cleared': plant(
    'ListCurated',
    ['Assign', 'stale'],
    'KeyCount > 0',
    'KeyCount > 1',
  ),
  'Curate: parameters swapped': plant('Curate', ['Arguments', 'ExecutionParameters', 0], '$dt', '$exportId'),
  'Curate: as the export role': plant('Curate', ['Credentials', 'RoleArn'], curateRoleArn, exportRoleArn),
  'Curate: the default database': plant(
    'Curate',
    ['Arguments', 'QueryExecutionContext', 'Database'],
    database,
    'default',
  ),
  'Curate: retried on any failure': plant(
    'Curate',
    ['Retry', 0, 'ErrorEquals', 0],
    'Athena.TooManyRequestsException',
    'States.ALL',
  ),
  'Curate: the catch passes the input on': plant('Curate', ['Catch', 0, 'Output'], 'errorOutput', 'input'),
  'Cleared?: goes straight to the INSERTs, the refunds partition never cleared': plant(
    'Cleared?',
    ['Default'],
    'ListCuratedRefunds',
    'Curate',
  ),
  'ListCuratedRefunds: lists the orders partition': plant(
    'ListCuratedRefunds',
    ['Arguments', 'Prefix'],
    'curated/refunds/',
    'curated/orders/',
  ),
  'RefundsCleared?: never deletes': plant('RefundsCleared?', ['Choices', 0, 'Condition'], '> 0', '> 1000'),
  'DeleteCuratedRefunds: loops back to the orders listing': plant(
    'DeleteCuratedRefunds',
    ['Next'],
    'ListCuratedRefunds',
    'ListCurated',
  ),
  'Curate: skips the refunds curate': plant('Curate', ['Next'], 'CurateRefunds', 'PublishRefundsCurrent'),
  'CurateRefunds: parameters swapped': plant(
    'CurateRefunds',
    ['Arguments', 'ExecutionParameters', 0],
    '$dt',
    '$exportId',
  ),
  'CurateRefunds: the orders query': plant(
    'CurateRefunds',
    ['Arguments', 'QueryString'],
    'INSERT INTO refunds',
    'INSERT INTO orders',
  ),
  'CurateRefunds: retried on any failure': plant(
    'CurateRefunds',
    ['Retry', 0, 'ErrorEquals', 0],
    'Athena.TooManyRequestsException',
    'States.ALL',
  ),
  'CurateRefunds: as the export role': plant(
    'CurateRefunds',
    ['Credentials', 'RoleArn'],
    curateRoleArn,
    exportRoleArn,
  ),
  'PublishRefundsCurrent: the export id for the date': plant(
    'PublishRefundsCurrent',
    ['Arguments', 'QueryString'],
    '$dt',
    '$exportId',
  ),
  'PublishRefundsCurrent: the orders view': plant(
    'PublishRefundsCurrent',
    ['Arguments', 'QueryString'],
    'VIEW refunds_current',
    'VIEW orders_current',
  ),
  'PublishCurrent: the export id for the date': plant(
    'PublishCurrent',
    ['Arguments', 'QueryString'],
    '$dt',
    '$exportId',
  ),
  'Done: a misspelt output member': plant('Done', ['Output'], "'export_id'", "'exportId'"),
  'ExportFailed: the status as the cause': plant('ExportFailed', ['Cause'], '$export)', '$exportStatus)'),
  'Failed: the state’s context as the cause': plant(
    'Failed',
    ['Cause'],
    '$states.input',
    '$states.context.State',
  ),
};

describe('the finance export state machine, run from the template with aws-local-stepfunctions', () => {
  it('is the ASL file, every placeholder filled by a substitution of the template and none left over', () => {
    assert.equal(deployedText, readFileSync(financeExportAslPath, 'utf8'));
    const placeholders = [...deployedText.matchAll(/\$\{(\w+)\}/g)].map(([, name]) => name);
    assert.deepEqual([...new Set(placeholders)].sort(), Object.keys(substitutions).sort());
    assert.equal(substitutions.OrdersTableArn, ordersTableArn);
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
