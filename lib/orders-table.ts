import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { merchantsTableSchema, ordersTableSchema } from '#adapters/tables.ts';

export interface OrdersTableProps {
  /** What happens to the tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The orders table (one flat item per order, what finance queries) and the merchants table (profiles;
 * keys live in Secrets Manager). On-demand, point-in-time recovery on, deletion protection on.
 */
export class OrdersTable extends Construct {
  /** Orders: `merchant_id` + `mch_trade_id`, indexes by trade id and by settlement due time. */
  public readonly orders: Table;
  /** Merchant profiles: status, pay types, channel accounts. */
  public readonly merchants: Table;

  constructor(scope: Construct, id: string, props: OrdersTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    };
    this.orders = new Table(this, 'Orders', {
      ...common,
      partitionKey: { name: ordersTableSchema.partitionKey, type: AttributeType.STRING },
      sortKey: { name: ordersTableSchema.sortKey, type: AttributeType.STRING },
    });
    for (const index of ordersTableSchema.indexes) {
      this.orders.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        ...(index.sortKey ? { sortKey: { name: index.sortKey, type: AttributeType.STRING } } : {}),
        projectionType: ProjectionType.KEYS_ONLY,
      });
    }
    this.merchants = new Table(this, 'Merchants', {
      ...common,
      partitionKey: { name: merchantsTableSchema.partitionKey, type: AttributeType.STRING },
    });
  }
}
