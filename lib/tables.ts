import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { merchantsTableSchema, ordersTableSchema, wakeupsTableSchema } from '#adapters/tables.ts';

export interface TablesProps {
  /** What happens to the tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The orders table (one flat item per order, what finance queries), the settlement wake-ups (how the sweep
 * finds orders whose lease ran out; items expire by TTL) and the merchants table (profiles; keys live in
 * Secrets Manager). On-demand, point-in-time recovery on, deletion protection on, no secondary indexes.
 */
export class Tables extends Construct {
  /** Orders, by `order_key` (`<merchant_id>/<order hash>`). */
  public readonly orders: Table;
  /** Settlement wake-ups, by due minute and shard; written with every lease an order takes, deleted by TTL. */
  public readonly wakeups: Table;
  /** Merchant profiles: status, pay types, channel accounts. */
  public readonly merchants: Table;

  constructor(scope: Construct, id: string, props: TablesProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    };
    this.orders = new Table(this, 'Orders', {
      ...common,
      partitionKey: { name: ordersTableSchema.partitionKey, type: AttributeType.STRING },
    });
    this.wakeups = new Table(this, 'Wakeups', {
      ...common,
      partitionKey: { name: wakeupsTableSchema.partitionKey, type: AttributeType.STRING },
      sortKey: { name: wakeupsTableSchema.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: wakeupsTableSchema.timeToLiveAttribute,
    });
    this.merchants = new Table(this, 'Merchants', {
      ...common,
      partitionKey: { name: merchantsTableSchema.partitionKey, type: AttributeType.STRING },
    });
  }
}
