import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { CfnTable } from 'aws-cdk-lib/aws-glue';
import { ArnPrincipal, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { StorageClass } from 'aws-cdk-lib/aws-s3';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import {
  billDateColumn,
  type CuratedColumn,
  discrepancyColumns,
  financePrefixes,
  financeTables,
  reconciliationTables,
  statementAccountColumns,
  statementPrefixes,
  statementRowColumns,
} from '#finance/catalog.ts';
import { parameterCount, readSql } from '#finance/sql.ts';
import type { FinanceExports } from './finance-exports.ts';
import { lambdaFunction } from './functions.ts';
import { merchantSecretsRead } from './settlement-workflow.ts';

/** The reconciliation state machine's ASL file (deployed here; run by test/infra with aws-local-stepfunctions). */
export const reconciliationAslPath = fileURLToPath(
  new URL('../statemachines/reconciliation.asl.json', import.meta.url),
);

export interface ReconciliationProps {
  /** The exports bucket, the Glue database and the Athena workgroup the statements and the comparison live in. */
  readonly finance: FinanceExports;
  /** The merchants table: the accounts function scans it for merchant ids, the fetch function reads profiles. */
  readonly merchantsTable: ITable;
  /** The prefix every merchant secret is named under (channel credentials are in them). */
  readonly merchantSecretPrefix: string;
  /** The ARN pattern of the merchant secrets (`merchantSecretsArn`). */
  readonly merchantSecretsArn: string;
  /** Each channel's endpoint and settings, as the gateway's functions have them. */
  readonly channelEnvironment: Readonly<Record<string, string>>;
  /**
   * When the daily run starts; it reconciles the UTC+8 day before the time it fires. @default 10:30 every day,
   * Asia/Shanghai (02:30 UTC): WeChat and Alipay publish the day before's statements after 10:00
   */
  readonly schedule?: ScheduleExpression;
  /** How long the functions' and executions' logs are kept. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/** Partition projection of `bill_date` (the statement's day): no crawler, no partitions to add. */
const billDateProjection = {
  'projection.enabled': 'true',
  'projection.bill_date.type': 'date',
  'projection.bill_date.format': 'yyyy-MM-dd',
  'projection.bill_date.range': '2024-01-01,NOW',
  'projection.bill_date.interval': '1',
  'projection.bill_date.interval.unit': 'DAYS',
} as const;

const jsonTable = {
  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
};
const parquetTable = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
};

/**
 * The reconciliation run in AWS (SPEC section 9, issue 22): a Standard state machine from
 * statemachines/reconciliation.asl.json that a daily schedule starts, the four functions its Tasks invoke, the
 * Glue tables over the kept statements and the comparison's output (in the finance bucket and database), and the
 * role its Athena steps run as. Alarms are `Monitoring.watchReconciliation`'s.
 */
export class Reconciliation extends Construct {
  /** The daily run (Standard: a late statement keeps it waiting up to a day). */
  public readonly stateMachine: StateMachine;
  /** Starts `stateMachine` daily, with the time it fired (the run reconciles the UTC+8 day before it). */
  public readonly schedule: Schedule;
  /** Lists every channel account the merchants route to (merchants table, merchant secrets). */
  public readonly accountsFunction: NodejsFunction;
  /** Fetches one account's statement into `statements/raw/` and `statements/rows/` (merchants, secrets, channels). */
  public readonly fetchFunction: NodejsFunction;
  /** Writes the day's accounts file (`statements/accounts/`) and counts the accounts without a statement. */
  public readonly recordFunction: NodejsFunction;
  /** Publishes the day's discrepancies per channel and class as metrics. */
  public readonly publishFunction: NodejsFunction;
  /** Athena's comparison and totals, and clearing the day's `reconciliation/` folder before. */
  public readonly queryRole: Role;
  /** `statement_rows`: the statements' rows, JSON lines under `statements/rows/`, by `bill_date`. */
  public readonly statementRowsTable: CfnTable;
  /** `statement_accounts`: each day's accounts file under `statements/accounts/`, by `bill_date`. */
  public readonly statementAccountsTable: CfnTable;
  /** `discrepancies`: the comparison's output, Parquet under `reconciliation/`, by `bill_date`. */
  public readonly discrepanciesTable: CfnTable;

  constructor(scope: Construct, id: string, props: ReconciliationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { finance } = props;
    const { bucket, databaseName, workGroupName } = finance;
    const retention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const s3Url = (prefix: string) => `s3://${bucket.bucketName}/${prefix}`;
    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}*`);

    // Statements and discrepancies are finance's records of the day: kept, not expired; a month on, to
    // Standard-IA (a statement is read again only for a dispute or a rerun). Overwritten versions (a day's
    // accounts file rewritten by a rerun) go after a month.
    for (const prefix of ['statements/', statementPrefixes.reconciliation]) {
      bucket.addLifecycleRule({
        id: prefix.replace(/\/$/, ''),
        prefix,
        transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      });
    }

    // Glue: the statements' rows and accounts (JSON lines) and the discrepancies (Parquet), by bill_date.
    const table = (
      tableId: string,
      name: string,
      prefix: string,
      description: string,
      columns: readonly CuratedColumn[],
      format: 'json' | 'parquet',
    ) => {
      const created = new CfnTable(this, tableId, {
        catalogId: stack.account,
        databaseName,
        tableInput: {
          name,
          description,
          tableType: 'EXTERNAL_TABLE',
          partitionKeys: [billDateColumn],
          parameters: {
            classification: format,
            ...(format === 'parquet' ? { 'parquet.compression': 'SNAPPY' } : {}),
            ...billDateProjection,
            'storage.location.template': `${s3Url(prefix)}bill_date=$\{bill_date}/`,
          },
          storageDescriptor: {
            columns: columns.map(({ name: column, type, comment }) => ({ name: column, type, comment })),
            location: s3Url(prefix),
            ...(format === 'json' ? jsonTable : parquetTable),
          },
        },
      });
      created.addResourceDependency(finance.database);
      return created;
    };
    this.statementRowsTable = table(
      'StatementRowsTable',
      reconciliationTables.statementRows,
      statementPrefixes.rows,
      "The channels' statements, one row per payment or refund, by statement day; docs/finance.md lists the columns",
      statementRowColumns,
      'json',
    );
    this.statementAccountsTable = table(
      'StatementAccountsTable',
      reconciliationTables.statementAccounts,
      statementPrefixes.accounts,
      "Which merchants each account's statement of a day covers, and whether it was fetched",
      statementAccountColumns,
      'json',
    );
    this.discrepanciesTable = table(
      'DiscrepanciesTable',
      reconciliationTables.discrepancies,
      statementPrefixes.reconciliation,
      'finance/sql/reconcile.sql of each day: one row per payment or refund on either side, in one class',
      discrepancyColumns,
      'parquet',
    );

    // The functions: each reads only what it uses.
    const merchantEnvironment = {
      MERCHANTS_TABLE: props.merchantsTable.tableName,
      MERCHANT_SECRET_PREFIX: props.merchantSecretPrefix,
      ...props.channelEnvironment,
    };
    this.accountsFunction = lambdaFunction(this, 'Accounts', {
      entry: 'reconcile/accounts/handler.ts',
      description: 'Reconciliation: every channel account the merchants route to',
      environment: merchantEnvironment,
      timeout: Duration.minutes(5),
      logRetention: retention,
    });
    this.fetchFunction = lambdaFunction(this, 'Fetch', {
      entry: 'reconcile/fetch/handler.ts',
      description: "Reconciliation: one account's statement of a day into the exports bucket",
      environment: { ...merchantEnvironment, STATEMENTS_BUCKET: bucket.bucketName },
      // A statement of a busy account is a few hundred MB of text, held and read in memory.
      memorySize: 2048,
      timeout: Duration.minutes(5),
      logRetention: retention,
    });
    this.recordFunction = lambdaFunction(this, 'Record', {
      entry: 'reconcile/record/handler.ts',
      description: "Reconciliation: the day's accounts file, and the accounts without a statement",
      environment: { STATEMENTS_BUCKET: bucket.bucketName },
      logRetention: retention,
    });
    this.publishFunction = lambdaFunction(this, 'Publish', {
      entry: 'reconcile/publish/handler.ts',
      description: "Reconciliation: the day's discrepancies per channel and class as metrics",
      environment: {},
      logRetention: retention,
    });
    // Exactly the calls each function's code makes (test/infra/grants.test.ts derives them from the code).
    props.merchantsTable.grant(this.accountsFunction, 'dynamodb:Scan', 'dynamodb:GetItem');
    props.merchantsTable.grant(this.fetchFunction, 'dynamodb:GetItem');
    const readSecrets = merchantSecretsRead(props.merchantSecretsArn);
    this.accountsFunction.addToRolePolicy(readSecrets);
    this.fetchFunction.addToRolePolicy(readSecrets);
    // Whether a statement is kept: a listing of its raw key (a missing key is then an answer, not a 403).
    this.fetchFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${statementPrefixes.raw}*`] } },
      }),
    );
    this.fetchFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [objects(statementPrefixes.raw), objects(statementPrefixes.rows)],
      }),
    );
    this.recordFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:PutObject'], resources: [objects(statementPrefixes.accounts)] }),
    );

    // The Athena steps' role: read the statements and the curated snapshot, write the day's discrepancies.
    const machineRole = new Role(this, 'StateMachineRole', {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
      description: 'Reconciliation state machine: invokes its four functions, assumes the query role',
    });
    this.queryRole = new Role(this, 'QueryRole', {
      assumedBy: new ArnPrincipal(machineRole.roleArn),
      description:
        'Reconciliation queries: statements and curated tables to reconciliation/ of the finance bucket',
    });
    const tableArn = (name: string) =>
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${name}` });
    const workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: workGroupName,
    });
    const read = [
      statementPrefixes.rows,
      statementPrefixes.accounts,
      financePrefixes.curated,
      financePrefixes.curatedRefunds,
    ];
    const written = [statementPrefixes.reconciliation, financePrefixes.athenaResults];
    for (const statement of [
      new PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetQueryResults',
          'athena:GetWorkGroup',
        ],
        resources: [workGroupArn],
      }),
      new PolicyStatement({
        actions: ['athena:GetDataCatalog'],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'datacatalog', resourceName: 'AwsDataCatalog' }),
        ],
      }),
      // The tables the comparison reads (the current views, and the curated tables under them) and writes.
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          ...[
            reconciliationTables.statementRows,
            reconciliationTables.statementAccounts,
            reconciliationTables.discrepancies,
            financeTables.current,
            financeTables.curated,
            financeTables.refundsCurrent,
            financeTables.refunds,
          ].map(tableArn),
        ],
      }),
      new PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [bucket.bucketArn] }),
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [...read, ...written].map((p) => `${p}*`) } },
      }),
      new PolicyStatement({ actions: ['s3:GetObject'], resources: read.map(objects) }),
      new PolicyStatement({
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        resources: written.map(objects),
      }),
    ]) {
      this.queryRole.addToPolicy(statement);
    }
    machineRole.addToPolicy(
      new PolicyStatement({ actions: ['sts:AssumeRole'], resources: [this.queryRole.roleArn] }),
    );
    // Its Tasks name each function's unqualified ARN; grantInvoke would add every version and alias (ARN:*).
    machineRole.addToPolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.accountsFunction, this.fetchFunction, this.recordFunction, this.publishFunction].map(
          (fn) => fn.functionArn,
        ),
      }),
    );

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      role: machineRole,
      definitionBody: DefinitionBody.fromString(readFileSync(reconciliationAslPath, 'utf8')),
      definitionSubstitutions: {
        AccountsFunctionArn: this.accountsFunction.functionArn,
        FetchFunctionArn: this.fetchFunction.functionArn,
        RecordFunctionArn: this.recordFunction.functionArn,
        PublishFunctionArn: this.publishFunction.functionArn,
        QueryRoleArn: this.queryRole.roleArn,
        BucketName: bucket.bucketName,
        ReconciliationPrefix: statementPrefixes.reconciliation,
        Database: databaseName,
        WorkGroup: workGroupName,
        CompareQuery: compareQueryForAsl(),
        CompareParameters: String(parameterCount(readSql('reconcile'))),
        TotalsQuery: JSON.stringify(readSql('reconciliation-totals')).slice(1, -1),
      },
      // The ASL's own TimeoutSeconds says the same: a day of retries, then the comparison.
      timeout: Duration.hours(30),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', { retention }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.stateMachine.node.addDependency(
      this.statementRowsTable,
      this.statementAccountsTable,
      this.discrepanciesTable,
    );

    this.schedule = new Schedule(this, 'Schedule', {
      description: "Daily reconciliation of the UTC+8 day before with the channels' statements",
      schedule:
        props.schedule ??
        ScheduleExpression.cron({ minute: '30', hour: '10', timeZone: TimeZone.ASIA_SHANGHAI }),
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: ScheduleTargetInput.fromObject({ scheduled_time: ContextAttribute.scheduledTime }),
        retryAttempts: 3,
      }),
    });

    // Finance reads the statements (the raw files too: the channel's own evidence) and the discrepancies.
    const financeRead = [
      statementPrefixes.raw,
      statementPrefixes.rows,
      statementPrefixes.accounts,
      statementPrefixes.reconciliation,
    ];
    finance.financePolicy.addStatements(
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [
          reconciliationTables.statementRows,
          reconciliationTables.statementAccounts,
          reconciliationTables.discrepancies,
        ].map(tableArn),
      }),
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': financeRead.map((p) => `${p}*`) } },
      }),
      new PolicyStatement({ actions: ['s3:GetObject'], resources: financeRead.map(objects) }),
    );

    this.suppressAcceptedFindings(machineRole);

    new CfnOutput(this, 'ReconciliationStateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: 'micropay reconcile --state-machine … --date YYYY-MM-DD starts a reconciliation now',
    });
  }

  /** cdk-nag findings this construct accepts, each with the risk it accepts. */
  private suppressAcceptedFindings(machineRole: Role): void {
    for (const fn of [this.accountsFunction, this.fetchFunction, this.recordFunction, this.publishFunction]) {
      NagSuppressions.addResourceSuppressions(
        fn,
        [
          {
            id: 'AwsSolutions-IAM4',
            reason:
              'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs. Risk accepted: an AWS-managed policy could change under us; it has only ever covered logs.',
            appliesTo: [
              'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
            ],
          },
          {
            id: 'AwsSolutions-IAM5',
            reason:
              "Merchant secrets are one per merchant under one prefix, added without a deploy; statement files are new keys each day under one prefix of the exports bucket (statements/raw/, statements/rows/, statements/accounts/). Risk accepted: the function can read any merchant's secret (it needs the channel credentials of every merchant) and write any statement key.",
            appliesTo: [
              { regex: '/^Resource::arn:<AWS::Partition>:secretsmanager:.*:secret:.*\\*$/g' },
              { regex: '/^Resource::<.*Bucket.*\\.Arn>/statements/(raw|rows|accounts)/\\*$/g' },
            ],
          },
        ],
        true,
      );
    }
    NagSuppressions.addResourceSuppressions(
      machineRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'CDK adds the log delivery and X-Ray actions, which IAM only grants on "*"; the role can otherwise only invoke its four functions and assume the query role.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(
      this.queryRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Object wildcards are scoped to one prefix of the finance bucket each (statements/rows/, statements/accounts/, curated/orders/, curated/refunds/ read; reconciliation/, athena-results/ written): every day writes new keys.',
          appliesTo: [{ regex: '/^Resource::<.*Bucket.*\\.Arn>/[a-z-]+/([a-z-]+/)?\\*$/g' }],
        },
      ],
      true,
    );
  }
}

/**
 * The comparison's UNLOAD up to its target folder, as a JSONata string literal escaped to sit inside the ASL's
 * JSON string: the Compare state adds the bucket, the day and the format.
 */
export function compareQueryForAsl(): string {
  const unload = `UNLOAD (\n${readSql('reconcile').trimEnd()}\n) TO '`;
  return JSON.stringify(JSON.stringify(unload)).slice(1, -1);
}
