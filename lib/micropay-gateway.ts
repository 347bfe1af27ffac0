import { CfnOutput, type Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { refundBindingMark } from '#adapters/tables.ts';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { FinanceExports, type FinanceExportsProps } from './finance-exports.ts';
import { merchantSecretsArn } from './functions.ts';
import { MerchantApi, type MerchantApiThrottling } from './merchant-api.ts';
import { Monitoring } from './monitoring.ts';
import { Reconciliation, type ReconciliationProps } from './reconciliation.ts';
import { merchantSecretsRead, SettlementWorkflow } from './settlement-workflow.ts';
import { Tables } from './tables.ts';

export interface MicropayGatewayProps {
  /**
   * Endpoints by channel name, e.g. a regional BlueOcean host (`https://api.au.blueoceanpay.com`). Every one
   * must be `https://`: some channels leave some answers unsigned, and those are trusted only over verified
   * TLS from the configured host. @default each channel's production endpoint (its descriptor's)
   */
  readonly channelUrls?: Readonly<Record<string, string>>;
  /**
   * Channel settings by variable name, each one of the values its channel's descriptor lists, e.g.
   * `{ ALIPAY_PROTOCOL: 'guidance' }` (Alipay's current bar-code guidance: polls every few seconds for about
   * 60 s, instead of seed 002's 6 queries 5 s apart). @default each setting's first value
   */
  readonly channelSettings?: Readonly<Record<string, string>>;
  /** The channels the stack's functions speak. @default the installed ones (`core/channels/installed.ts`) */
  readonly channels?: readonly ChannelDescriptor[];
  /**
   * The settlement workflow's type. `EXPRESS` costs a fraction per polled payment and is at-least-once (the
   * settlement is fenced, so a duplicate execution changes nothing); `STANDARD` keeps 90 days of execution
   * history in the console. @default StateMachineType.EXPRESS
   */
  readonly workflowType?: StateMachineType;
  /** Prefix of the merchant secrets (one secret per merchant). @default 'micropay/merchants/' */
  readonly merchantSecretPrefix?: string;
  /** An existing SNS topic the alarms go to. @default a new topic (output `AlarmTopicArn`) */
  readonly alarmTopic?: ITopic;
  /** An e-mail address to subscribe to the alarm topic. @default none */
  readonly alarmEmail?: string;
  /** How long function, API access and execution logs are kept. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /** Requests per second per API route. @default micropay and query 500 (burst 1000), reverse 50 (100) */
  readonly throttling?: MerchantApiThrottling;
  /** What happens to the tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** How often the sweep restarts settlements that died. @default Duration.minutes(1) */
  readonly sweepEvery?: Duration;
  /** Finance exports: schedule, retention, scan limit (docs/finance.md). @default FinanceExports' defaults */
  readonly finance?: Omit<FinanceExportsProps, 'ordersTable' | 'alarmTopic' | 'removalPolicy'>;
  /** The daily reconciliation run: its schedule (SPEC section 9). @default Reconciliation's defaults */
  readonly reconciliation?: Pick<ReconciliationProps, 'schedule'>;
}

/**
 * One region's micropay gateway: the orders, wake-ups and merchants tables, the merchant API, the
 * settlement workflow and sweep, and monitoring (alarms and a dashboard). A stack per region holds one.
 */
export class MicropayGateway extends Construct {
  public readonly tables: Tables;
  public readonly merchantApi: MerchantApi;
  public readonly settlement: SettlementWorkflow;
  public readonly monitoring: Monitoring;
  /** Daily exports of the orders table, the curated table and finance's Athena workgroup. */
  public readonly finance: FinanceExports;
  /** The daily reconciliation with the channels' statements, in the finance bucket and workgroup. */
  public readonly reconciliation: Reconciliation;

  constructor(scope: Construct, id: string, props: MicropayGatewayProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const secretPrefix = props.merchantSecretPrefix ?? 'micropay/merchants/';
    const channelEnvironment = channelVariables(props.channels ?? installedChannels, props);
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const stateMachineName = `micropay-settlement-${stack.region}`;
    this.tables = new Tables(this, 'Tables', { removalPolicy: props.removalPolicy });
    const environment = {
      ORDERS_TABLE: this.tables.orders.tableName,
      WAKEUPS_TABLE: this.tables.wakeups.tableName,
      MERCHANTS_TABLE: this.tables.merchants.tableName,
      SETTLEMENT_STATE_MACHINE_ARN: SettlementWorkflow.arnOf(this, stateMachineName),
      MERCHANT_SECRET_PREFIX: secretPrefix,
      ...channelEnvironment,
    };
    this.settlement = new SettlementWorkflow(this, 'Settlement', {
      environment,
      stateMachineName,
      workflowType: props.workflowType,
      sweepEvery: props.sweepEvery,
      logRetention,
    });
    this.merchantApi = new MerchantApi(this, 'MerchantApi', {
      environment,
      throttling: props.throttling,
      logRetention,
    });

    const readSecrets = merchantSecretsRead(merchantSecretsArn(this, secretPrefix));
    const { handler: api } = this.merchantApi;
    const { settleFunction: settle, sweepFunction: sweep } = this.settlement;
    // Exactly the calls each function's code makes (test/infra/grants.test.ts derives them from the code): a
    // leaked function credential can neither delete nor scan orders.
    const { orders, wakeups, merchants } = this.tables;
    orders.grant(api, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    // A refused refund takes its number's binding back: deletes only of those keys, never of an order.
    api.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:DeleteItem'],
        resources: [orders.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`*${refundBindingMark}*`] } },
      }),
    );
    wakeups.grant(api, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    orders.grant(settle, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    wakeups.grant(settle, 'dynamodb:PutItem');
    for (const fn of [api, settle]) {
      merchants.grant(fn, 'dynamodb:GetItem');
      fn.addToRolePolicy(readSecrets);
    }
    orders.grant(sweep, 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem');
    wakeups.grant(sweep, 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem');
    this.settlement.stateMachine.grantStartExecution(api);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      stateMachine: this.settlement.stateMachine,
      api: this.merchantApi.api,
      functions: { Api: api, Settle: settle, Sweep: sweep },
      alarmTopic: props.alarmTopic,
      alarmEmail: props.alarmEmail,
      dashboardName: `micropay-${stack.region}`,
    });

    this.finance = new FinanceExports(this, 'Finance', {
      ...props.finance,
      ordersTable: this.tables.orders,
      alarmTopic: this.monitoring.alarmTopic,
      removalPolicy: props.removalPolicy,
    });

    this.reconciliation = new Reconciliation(this, 'Reconciliation', {
      ...props.reconciliation,
      finance: this.finance,
      merchantsTable: merchants,
      merchantSecretPrefix: secretPrefix,
      merchantSecretsArn: merchantSecretsArn(this, secretPrefix),
      channelEnvironment,
      logRetention,
    });
    const { reconciliation } = this;
    this.monitoring.watchReconciliation({
      stateMachine: reconciliation.stateMachine,
      functions: {
        ReconcileAccounts: reconciliation.accountsFunction,
        ReconcileFetch: reconciliation.fetchFunction,
        ReconcileRecord: reconciliation.recordFunction,
        ReconcilePublish: reconciliation.publishFunction,
      },
    });

    new CfnOutput(this, 'OrdersTableName', {
      value: this.tables.orders.tableName,
      description: 'Orders (finance exports)',
    });
    new CfnOutput(this, 'MerchantsTableName', {
      value: this.tables.merchants.tableName,
      description: 'Merchants (micropay merchant add --merchants-table)',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.alarmTopic.topicArn,
      description: 'Subscribe on-call to this topic',
    });
    suppressAcceptedFindings(this);
  }
}

/**
 * cdk-nag AwsSolutions findings this design accepts, each on the resource it concerns and with the risk it
 * accepts. Wildcard permissions are suppressed by pattern, so a new wildcard is still reported.
 */
function suppressAcceptedFindings(gateway: MicropayGateway): void {
  const { merchantApi, settlement } = gateway;
  NagSuppressions.addResourceSuppressions(
    merchantApi.api,
    [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Merchants authenticate every request with a signature made with their own key (SPEC section 2), checked by the function before anything is read or written; no API Gateway authorizer can check it. Risk accepted: unauthenticated requests reach the function (throttled per route) and are answered 101 or 200.',
      },
    ],
    true,
  );
  for (const fn of [merchantApi.handler, settlement.settleFunction, settlement.sweepFunction]) {
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
            "Merchant secrets are one per merchant under one prefix, added without a deploy, so the read is granted on the prefix. Risk accepted: the function can read any merchant's secret, which it needs in order to serve that merchant.",
          appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:secretsmanager:.*:secret:.*\\*$/g' }],
        },
      ],
      true,
    );
  }
  NagSuppressions.addResourceSuppressions(
    settlement.stateMachine,
    [
      {
        id: 'AwsSolutions-SF1',
        reason:
          'Executions log at ERROR level without execution data, to a log group with a retention period: ALL would log every step of every payment. Risk accepted: a successful execution leaves no log (the order record keeps each step).',
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'X-Ray trace writes and CloudWatch Logs delivery have no resource-level permissions (Resource *). Risk accepted: the state machine can write any trace segment and manage log deliveries of this account.',
        appliesTo: ['Resource::*'],
      },
    ],
    true,
  );
}

/**
 * Every channel's variables for the functions: its endpoint (checked to be HTTPS) and its settings (checked
 * against the values it lists), so a stack with a wrong one fails at synth, not at the first payment.
 */
function channelVariables(
  channels: readonly ChannelDescriptor[],
  props: Pick<MicropayGatewayProps, 'channelUrls' | 'channelSettings'>,
): Record<string, string> {
  const variables: Record<string, string> = {};
  const known = new Set<string>();
  for (const { name, endpoint, settings } of channels) {
    const url = props.channelUrls?.[name] ?? endpoint.url;
    if (!url.startsWith('https://')) {
      throw new Error(
        `channelUrls.${name} must be an https:// URL (channel answers rest on TLS), got ${url}`,
      );
    }
    variables[endpoint.variable] = url;
    for (const [variable, { values }] of Object.entries(settings ?? {})) {
      known.add(variable);
      const value = props.channelSettings?.[variable] ?? values[0];
      if (!values.includes(value)) {
        throw new Error(`channelSettings.${variable} must be one of ${values.join(', ')}, got ${value}`);
      }
      variables[variable] = value;
    }
  }
  for (const name of Object.keys(props.channelUrls ?? {})) {
    if (!channels.some((channel) => channel.name === name))
      throw new Error(`channelUrls.${name}: no such channel`);
  }
  for (const variable of Object.keys(props.channelSettings ?? {})) {
    if (!known.has(variable)) throw new Error(`channelSettings.${variable}: no channel has this setting`);
  }
  return variables;
}
