import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { FinanceExports } from './finance-exports.ts';
import { merchantSecretsArn } from './functions.ts';
import { MerchantApi } from './merchant-api.ts';
import { Monitoring } from './monitoring.ts';
import { OrdersTable } from './orders-table.ts';
import { merchantSecretsRead, SettlementWorkflow } from './settlement-workflow.ts';

export interface MicropayStackProps extends StackProps {
  /** Prefix of the merchant secrets (one secret per merchant). @default 'micropay/merchants/' */
  readonly merchantSecretPrefix?: string;
  /**
   * WeChat Pay v2 API base URL. Must be HTTPS: WeChat leaves its `return_code=FAIL` answers unsigned, so they
   * are trusted only over verified TLS from this host. @default 'https://api.mch.weixin.qq.com'
   */
  readonly wechatBaseUrl?: string;
}

/** One region's gateway: tables, merchant API, settlement workflow, monitoring. */
export class MicropayStack extends Stack {
  public readonly tables: OrdersTable;
  public readonly merchantApi: MerchantApi;
  public readonly settlement: SettlementWorkflow;
  public readonly monitoring: Monitoring;
  /** Daily exports of the orders table, the curated table and finance's Athena workgroup. */
  public readonly finance: FinanceExports;

  constructor(scope: Construct, id: string, props: MicropayStackProps = {}) {
    super(scope, id, props);
    const secretPrefix = props.merchantSecretPrefix ?? 'micropay/merchants/';
    const wechatBaseUrl = props.wechatBaseUrl ?? 'https://api.mch.weixin.qq.com';
    if (!wechatBaseUrl.startsWith('https://')) {
      throw new Error(
        `wechatBaseUrl must be an https:// URL (channel answers rest on TLS), got ${wechatBaseUrl}`,
      );
    }
    const stateMachineName = `micropay-settlement-${this.region}`;
    this.tables = new OrdersTable(this, 'Tables');
    const environment = {
      ORDERS_TABLE: this.tables.orders.tableName,
      MERCHANTS_TABLE: this.tables.merchants.tableName,
      SETTLEMENT_STATE_MACHINE_ARN: SettlementWorkflow.arnOf(this, stateMachineName),
      MERCHANT_SECRET_PREFIX: secretPrefix,
      WECHAT_BASE_URL: wechatBaseUrl,
    };
    this.settlement = new SettlementWorkflow(this, 'Settlement', { environment, stateMachineName });
    this.merchantApi = new MerchantApi(this, 'MerchantApi', { environment });

    const readSecrets = merchantSecretsRead(merchantSecretsArn(this, secretPrefix));
    const { handler: api } = this.merchantApi;
    const { settleFunction: settle, sweepFunction: sweep } = this.settlement;
    for (const fn of [api, settle]) {
      this.tables.orders.grantReadWriteData(fn);
      this.tables.merchants.grantReadData(fn);
      fn.addToRolePolicy(readSecrets);
    }
    this.tables.orders.grantReadWriteData(sweep);
    this.settlement.stateMachine.grantStartExecution(api);

    new CfnOutput(this, 'OrdersTableName', {
      value: this.tables.orders.tableName,
      description: 'Orders (finance exports)',
    });
    new CfnOutput(this, 'MerchantsTableName', {
      value: this.tables.merchants.tableName,
      description: 'Merchants (micropay merchant add --merchants-table)',
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      stateMachine: this.settlement.stateMachine,
      functions: { Api: api, Settle: settle, Sweep: sweep },
    });
    this.finance = new FinanceExports(this, 'Finance', {
      ordersTable: this.tables.orders,
      alarmTopic: this.monitoring.alarmTopic,
    });
  }
}
