import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CfnOutput, type CfnResource, Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { ArnPrincipal, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  curatedColumns,
  financeDatabase,
  financePrefixes,
  financeTables,
  rawItemGlueType,
  refundColumns,
  snapshotColumn,
} from '#finance/catalog.ts';
import { readSql, sqlNames } from '#finance/sql.ts';

/** The finance export state machine's ASL file (deployed here; its expressions are tested in test/infra). */
export const financeExportAslPath = fileURLToPath(
  new URL('../statemachines/finance-export.asl.json', import.meta.url),
);

export interface FinanceExportsProps {
  /** The orders table (point-in-time recovery on): the only table the export role may read. */
  readonly ordersTable: ITable;
  /** Where the export's alarms go. @default no alarm actions */
  readonly alarmTopic?: ITopic;
  /**
   * When the daily export runs. @default 00:30 every day, Asia/Shanghai: after the merchants' local day has
   * closed, so the snapshot dated that (UTC) day holds every order of it
   */
  readonly schedule?: ScheduleExpression;
  /**
   * Alarm when no export has succeeded for this long (whole hours): a schedule that stopped firing, or runs
   * that never end, fail no execution and would otherwise go unnoticed. Set it to the schedule's interval and
   * a margin when the schedule is not daily. @default Duration.hours(26)
   */
  readonly staleAfter?: Duration;
  /**
   * How long exports and curated snapshots are kept. Each snapshot holds the whole table, so the latest one has
   * every order: older ones only show what was known on their day. @default Duration.days(90)
   */
  readonly retention?: Duration;
  /** When exports and curated snapshots move to S3 Standard-IA. @default Duration.days(30) */
  readonly infrequentAccessAfter?: Duration;
  /**
   * Athena's per-query scan limit in the finance workgroup: at most $0.25 a query. Each snapshot holds the
   * whole table, so the reports scan more as the table grows (docs/finance.md has the arithmetic). @default 50 GiB
   */
  readonly bytesScannedCutoffPerQuery?: number;
  /** The Glue database; the SQL files' table names resolve in it. @default 'micropay_finance' */
  readonly databaseName?: string;
  /** The Athena workgroup. @default 'micropay-finance' */
  readonly workGroupName?: string;
  /** What happens to the exports bucket when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Partition projection of the `dt` (snapshot date) column every Glue table has: no crawler, no partitions to add. */
const snapshotDateProjection = {
  'projection.enabled': 'true',
  'projection.dt.type': 'date',
  'projection.dt.format': 'yyyy-MM-dd',
  'projection.dt.range': '2024-01-01,NOW',
  'projection.dt.interval': '1',
  'projection.dt.interval.unit': 'DAYS',
} as const;

/**
 * Finance exports (issues 10 and 21): a daily DynamoDB export of the orders table to an S3 bucket, two curated
 * Parquet tables built from it by Athena (orders, and their refunds), the Glue tables over them (partition
 * projection, no crawler), an Athena workgroup with the SQL files of finance/sql/ as named queries, and a managed
 * policy for finance.
 */
export class FinanceExports extends Construct {
  /**
   * Exports (`exports/orders/`), the curated tables (`curated/orders/`, `curated/refunds/`) and Athena results
   * (`athena-results/`).
   */
  public readonly bucket: Bucket;
  /** The bucket's server access logs. */
  public readonly accessLogs: Bucket;
  /** Export, then curate orders and refunds, then point `refunds_current` and `orders_current` at the new snapshot. */
  public readonly stateMachine: StateMachine;
  /** Starts `stateMachine` daily. */
  public readonly schedule: Schedule;
  /** DynamoDB's export: reads the orders table, writes `exports/orders/` only. */
  public readonly exportRole: Role;
  /** Athena's curate queries: read `exports/orders/`, write `curated/orders/`, `curated/refunds/` and results. */
  public readonly curateRole: Role;
  public readonly workGroup: CfnWorkGroup;
  /** The Athena workgroup's name (the finance queries and the reconciliation run in it). */
  public readonly workGroupName: string;
  public readonly database: CfnDatabase;
  /** The Glue database's name: the SQL files' table names resolve in it. */
  public readonly databaseName: string;
  public readonly rawTable: CfnTable;
  public readonly curatedTable: CfnTable;
  /** One row per refund per daily snapshot (finance/sql/curate-refunds.sql). */
  public readonly refundsTable: CfnTable;
  /** One named query per SQL file, by file name. */
  public readonly namedQueries: Readonly<Record<string, CfnNamedQuery>>;
  /** For finance: Athena on the workgroup, the curated table and its results; nothing else. */
  public readonly financePolicy: ManagedPolicy;
  /** Raised when an export or curate run fails, times out or is aborted, or the schedule cannot start one. */
  public readonly failedAlarm: Alarm;
  /** Raised when no export has succeeded for `staleAfter`. */
  public readonly staleAlarm: Alarm;

  constructor(scope: Construct, id: string, props: FinanceExportsProps) {
    super(scope, id);
    // Server access logs are delivered under a bucket policy, not the log bucket's ACL (which would need
    // ObjectWriter ownership): set for this construct's subtree only.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stack = Stack.of(this);
    const databaseName = props.databaseName ?? financeDatabase;
    const workGroupName = props.workGroupName ?? 'micropay-finance';
    this.databaseName = databaseName;
    this.workGroupName = workGroupName;
    const retention = props.retention ?? Duration.days(90);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire', expiration: retention }],
      removalPolicy,
    });
    suppress(this.accessLogs, [
      [
        'AwsSolutions-S1',
        'This is the access log bucket of the exports bucket; logging it to itself would loop.',
      ],
    ]);
    const ia = props.infrequentAccessAfter ?? Duration.days(30);
    const snapshots = (id: string, prefix: string) => ({
      id,
      prefix,
      transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: ia }],
      expiration: retention,
      noncurrentVersionExpiration: Duration.days(30),
      abortIncompleteMultipartUploadAfter: Duration.days(7),
    });
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'exports-bucket/',
      lifecycleRules: [
        snapshots('exports', financePrefixes.exports),
        snapshots('curated', financePrefixes.curated),
        snapshots('curated-refunds', financePrefixes.curatedRefunds),
        {
          id: 'athena-results',
          prefix: financePrefixes.athenaResults,
          expiration: Duration.days(30),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy,
    });
    const s3Url = (prefix: string) => `s3://${this.bucket.bucketName}/${prefix}`;
    const objects = (prefix: string) => this.bucket.arnForObjects(`${prefix}*`);

    // Glue: the raw export and the curated table, both with partition projection (no crawler, no registration).
    this.database = new CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: databaseName, description: 'Micropay finance: order exports and reports' },
    });
    this.rawTable = new CfnTable(this, 'RawTable', {
      catalogId: stack.account,
      databaseName,
      tableInput: {
        name: financeTables.raw,
        description: "DynamoDB's export of the orders table, as it wrote it (DynamoDB JSON)",
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [
          snapshotColumn,
          {
            name: 'export_id',
            type: 'string',
            comment: "DynamoDB's export id (the folder under AWSDynamoDB/)",
          },
        ],
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          ...snapshotDateProjection,
          // The export id is not known before the export runs: a query names it (`WHERE export_id = ?`), and
          // Athena reads that export's data/ folder and nothing beside it, so the manifest files DynamoDB
          // writes next to data/ are never read as rows.
          'projection.export_id.type': 'injected',
          'storage.location.template': `${s3Url(financePrefixes.exports)}dt=$\{dt}/AWSDynamoDB/$\{export_id}/data/`,
        },
        storageDescriptor: {
          columns: [{ name: 'item', type: rawItemGlueType(), comment: 'the order, in DynamoDB JSON' }],
          location: s3Url(financePrefixes.exports),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
        },
      },
    });
    this.curatedTable = new CfnTable(this, 'CuratedTable', {
      catalogId: stack.account,
      databaseName,
      tableInput: {
        name: financeTables.curated,
        description:
          'Orders, typed, one row per order per daily snapshot (dt); docs/finance.md lists the columns',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [snapshotColumn],
        parameters: {
          classification: 'parquet',
          'parquet.compression': 'SNAPPY',
          ...snapshotDateProjection,
          // The Hive layout INSERT INTO writes (Athena places new files by it, whatever the template says).
          'storage.location.template': `${s3Url(financePrefixes.curated)}dt=$\{dt}/`,
        },
        storageDescriptor: {
          columns: curatedColumns.map(({ name, type, comment }) => ({ name, type, comment })),
          location: s3Url(financePrefixes.curated),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
    this.refundsTable = new CfnTable(this, 'RefundsTable', {
      catalogId: stack.account,
      databaseName,
      tableInput: {
        name: financeTables.refunds,
        description:
          "Refunds, typed, one row per refund (an order's refunds list unnested) per daily snapshot (dt); docs/finance.md lists the columns",
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [snapshotColumn],
        parameters: {
          classification: 'parquet',
          'parquet.compression': 'SNAPPY',
          ...snapshotDateProjection,
          'storage.location.template': `${s3Url(financePrefixes.curatedRefunds)}dt=$\{dt}/`,
        },
        storageDescriptor: {
          columns: refundColumns.map(({ name, type, comment }) => ({ name, type, comment })),
          location: s3Url(financePrefixes.curatedRefunds),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
    this.rawTable.addResourceDependency(this.database);
    this.curatedTable.addResourceDependency(this.database);
    this.refundsTable.addResourceDependency(this.database);

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: workGroupName,
      description: 'Micropay finance: reports over the curated orders table',
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 50 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: s3Url(financePrefixes.athenaResults),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: stack.account,
        },
      },
    });
    const namedQueries: Record<string, CfnNamedQuery> = {};
    for (const name of sqlNames) {
      const sql = readSql(name);
      const query = new CfnNamedQuery(this, `Query-${name}`, {
        name,
        database: databaseName,
        workGroup: workGroupName,
        description: (/^-- (.*)$/m.exec(sql)?.[1] ?? name).slice(0, 1024),
        queryString: sql,
      });
      query.addResourceDependency(this.workGroup);
      query.addResourceDependency(this.database);
      namedQueries[name] = query;
    }
    this.namedQueries = namedQueries;

    const tableArn = (name: string) =>
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${name}` });
    const catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
    const databaseArn = stack.formatArn({
      service: 'glue',
      resource: 'database',
      resourceName: databaseName,
    });
    const workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: workGroupName,
    });
    const dataCatalogArn = stack.formatArn({
      service: 'athena',
      resource: 'datacatalog',
      resourceName: 'AwsDataCatalog',
    });
    const listPrefixes = (prefixes: readonly string[]) =>
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      });

    // The state machine's own role only assumes the two task roles (and writes its logs and traces).
    const machineRole = new Role(this, 'StateMachineRole', {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
      description: 'Finance export state machine: assumes the export and curate roles per task',
    });
    this.exportRole = new Role(this, 'ExportRole', {
      assumedBy: new ArnPrincipal(machineRole.roleArn),
      description: 'DynamoDB export of the orders table to exports/orders/ of the finance bucket',
    });
    this.exportRole.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:ExportTableToPointInTime'],
        resources: [props.ordersTable.tableArn],
      }),
    );
    this.exportRole.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:DescribeExport'],
        resources: [`${props.ordersTable.tableArn}/export/*`],
      }),
    );
    // DynamoDB writes the export with the caller's permissions: these actions, on the exports prefix only.
    this.exportRole.addToPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:AbortMultipartUpload'],
        resources: [objects(financePrefixes.exports)],
      }),
    );
    this.curateRole = new Role(this, 'CurateRole', {
      assumedBy: new ArnPrincipal(machineRole.roleArn),
      description:
        'Athena curate queries: exports/orders/ to curated/orders/ and curated/refunds/ of the finance bucket',
    });
    for (const statement of [
      new PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetWorkGroup',
        ],
        resources: [workGroupArn],
      }),
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [
          catalogArn,
          databaseArn,
          tableArn(financeTables.raw),
          tableArn(financeTables.curated),
          tableArn(financeTables.refunds),
        ],
      }),
      // INSERT INTO adds partitions to the tables it writes; the raw export is only read.
      new PolicyStatement({
        actions: ['glue:BatchCreatePartition', 'glue:CreatePartition'],
        resources: [
          catalogArn,
          databaseArn,
          tableArn(financeTables.curated),
          tableArn(financeTables.refunds),
        ],
      }),
      // CREATE OR REPLACE VIEW orders_current, refunds_current.
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
        resources: [
          catalogArn,
          databaseArn,
          tableArn(financeTables.current),
          tableArn(financeTables.refundsCurrent),
        ],
      }),
      new PolicyStatement({ actions: ['athena:GetDataCatalog'], resources: [dataCatalogArn] }),
      new PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [this.bucket.bucketArn] }),
      listPrefixes([
        financePrefixes.exports,
        financePrefixes.curated,
        financePrefixes.curatedRefunds,
        financePrefixes.athenaResults,
      ]),
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [objects(financePrefixes.exports)] }),
      new PolicyStatement({
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        resources: [
          objects(financePrefixes.curated),
          objects(financePrefixes.curatedRefunds),
          objects(financePrefixes.athenaResults),
        ],
      }),
    ]) {
      this.curateRole.addToPolicy(statement);
    }
    machineRole.addToPolicy(
      new PolicyStatement({
        actions: ['sts:AssumeRole'],
        resources: [this.exportRole.roleArn, this.curateRole.roleArn],
      }),
    );

    const asl = readFileSync(financeExportAslPath, 'utf8');
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      role: machineRole,
      definitionBody: DefinitionBody.fromString(asl),
      definitionSubstitutions: {
        ExportRoleArn: this.exportRole.roleArn,
        CurateRoleArn: this.curateRole.roleArn,
        OrdersTableArn: props.ordersTable.tableArn,
        BucketName: this.bucket.bucketName,
        AccountId: stack.account,
        ExportsPrefix: financePrefixes.exports,
        CuratedPrefix: financePrefixes.curated,
        CuratedRefundsPrefix: financePrefixes.curatedRefunds,
        Database: databaseName,
        WorkGroup: workGroupName,
        CuratedTable: financeTables.curated,
        CurrentView: financeTables.current,
        RefundsTable: financeTables.refunds,
        RefundsCurrentView: financeTables.refundsCurrent,
        CurateQuery: curateQueryForAsl(),
        CurateRefundsQuery: curateQueryForAsl('curate-refunds'),
      },
      timeout: Duration.hours(12),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.THREE_MONTHS }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.stateMachine.node.addDependency(this.curatedTable, this.refundsTable, this.rawTable);
    suppressPolicy(machineRole, [
      [
        'AwsSolutions-IAM5',
        'CDK adds the log delivery and X-Ray actions, which IAM only grants on "*"; the role can otherwise only assume the two task roles.',
      ],
    ]);
    const prefixWildcard =
      'Object wildcards are scoped to one prefix of the finance bucket (exports/orders/, curated/orders/, curated/refunds/, athena-results/), and the export wildcard to exports of the orders table: each export and object key is new.';
    suppressPolicy(this.exportRole, [['AwsSolutions-IAM5', prefixWildcard]]);
    suppressPolicy(this.curateRole, [['AwsSolutions-IAM5', prefixWildcard]]);

    this.schedule = new Schedule(this, 'Schedule', {
      description: 'Daily finance export of the orders table',
      schedule:
        props.schedule ??
        ScheduleExpression.cron({ minute: '30', hour: '0', timeZone: TimeZone.ASIA_SHANGHAI }),
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: ScheduleTargetInput.fromObject({}),
        retryAttempts: 3,
      }),
    });

    // Finance: run queries in the workgroup over the curated table and read their results. Athena writes a
    // query's results with the caller's permissions, hence the results prefix; the raw export is not readable.
    this.financePolicy = new ManagedPolicy(this, 'FinancePolicy', {
      description:
        'Micropay finance: Athena on the finance workgroup, read the curated orders and refunds tables',
      statements: [
        new PolicyStatement({
          actions: [
            'athena:StartQueryExecution',
            'athena:StopQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:GetQueryResultsStream',
            'athena:ListQueryExecutions',
            'athena:BatchGetQueryExecution',
            'athena:GetWorkGroup',
            'athena:ListNamedQueries',
            'athena:GetNamedQuery',
            'athena:BatchGetNamedQuery',
          ],
          resources: [workGroupArn],
        }),
        new PolicyStatement({
          actions: [
            'athena:GetDataCatalog',
            'athena:ListDatabases',
            'athena:GetDatabase',
            'athena:ListTableMetadata',
            'athena:GetTableMetadata',
          ],
          resources: [dataCatalogArn],
        }),
        new PolicyStatement({
          actions: [
            'glue:GetDatabase',
            'glue:GetTable',
            'glue:GetTables',
            'glue:GetPartition',
            'glue:GetPartitions',
          ],
          resources: [
            catalogArn,
            databaseArn,
            tableArn(financeTables.curated),
            tableArn(financeTables.current),
            tableArn(financeTables.refunds),
            tableArn(financeTables.refundsCurrent),
          ],
        }),
        new PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [this.bucket.bucketArn] }),
        listPrefixes([
          financePrefixes.curated,
          financePrefixes.curatedRefunds,
          financePrefixes.athenaResults,
        ]),
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [objects(financePrefixes.curated), objects(financePrefixes.curatedRefunds)],
        }),
        new PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [objects(financePrefixes.athenaResults)],
        }),
      ],
    });
    suppress(this.financePolicy, [
      [
        'AwsSolutions-IAM5',
        `${prefixWildcard} Finance reads curated/orders/, curated/refunds/ and its own query results only.`,
      ],
    ]);

    const period = Duration.minutes(5);
    const dropped = new Metric({
      namespace: 'AWS/Scheduler',
      metricName: 'InvocationDroppedCount',
      dimensionsMap: { ScheduleGroup: 'default' },
      statistic: 'Sum',
      period,
    });
    this.failedAlarm = new Alarm(this, 'ExportFailed', {
      metric: new MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0) + FILL(dropped, 0)',
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ period, statistic: 'Sum' }),
          timedOut: this.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
          aborted: this.stateMachine.metricAborted({ period, statistic: 'Sum' }),
          dropped,
        },
        period,
        label: 'failed finance export runs',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'A finance export or curate run failed (or the schedule could not start one): finance has no new snapshot. Read the execution, fix, start it again (micropay export --state-machine …).',
    });
    if (props.alarmTopic) this.failedAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
    // One datapoint an hour; an hour without a success is missing data, counted as breaching, so the alarm
    // fires after `staleAfter` of consecutive hours without one and clears at the next success.
    const staleHours = Math.max(
      1,
      Math.ceil((props.staleAfter ?? Duration.hours(26)).toHours({ integral: false })),
    );
    this.staleAlarm = new Alarm(this, 'ExportStale', {
      metric: this.stateMachine.metricSucceeded({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: staleHours,
      datapointsToAlarm: staleHours,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
      alarmDescription: `No finance export has succeeded for ${staleHours} hours: the schedule may have stopped, or runs never finish. Finance's newest snapshot is getting old. Check the schedule and the export state machine's executions; start one by hand (micropay export --state-machine …).`,
    });
    if (props.alarmTopic) this.staleAlarm.addAlarmAction(new SnsAction(props.alarmTopic));

    new CfnOutput(this, 'FinancePolicyArn', {
      value: this.financePolicy.managedPolicyArn,
      description: 'Attach to finance users: Athena on the finance workgroup, read the curated table',
    });
    new CfnOutput(this, 'FinanceBucketName', {
      value: this.bucket.bucketName,
      description: 'Finance exports',
    });
    new CfnOutput(this, 'FinanceWorkGroup', {
      value: workGroupName,
      description: 'Athena workgroup for finance',
    });
    new CfnOutput(this, 'FinanceExportStateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: 'micropay export --state-machine … starts an export now',
    });
  }
}

/** Each curate SQL file and the curated table it fills. */
const curatedBy = {
  'curate-orders': financeTables.curated,
  'curate-refunds': financeTables.refunds,
} as const;

/** A curate SQL file as the state machine's INSERT INTO its table, escaped to sit inside the ASL's JSON string. */
export function curateQueryForAsl(name: keyof typeof curatedBy = 'curate-orders'): string {
  return JSON.stringify(`INSERT INTO ${curatedBy[name]}\n${readSql(name)}`).slice(1, -1);
}

/** cdk-nag suppressions (the metadata cdk-nag reads), with the reason each finding does not apply. */
function suppress(construct: Construct, rules: ReadonlyArray<readonly [id: string, reason: string]>): void {
  const resource = construct.node.defaultChild as CfnResource | undefined;
  resource?.addMetadata('cdk_nag', { rules_to_suppress: rules.map(([id, reason]) => ({ id, reason })) });
}

/** Suppressions on a role's default policy (where CDK puts the statements `addToPolicy` adds). */
function suppressPolicy(role: Role, rules: ReadonlyArray<readonly [id: string, reason: string]>): void {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (policy) suppress(policy as Construct, rules);
}
