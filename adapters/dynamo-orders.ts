import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LeaseView, OrderTables, Wakeup } from '#adapters/order-tables.ts';
import { TableOrderStore, type TableOrderStoreOptions } from '#adapters/table-order-store.ts';
import { ordersTableSchema, wakeupsTableSchema } from '#adapters/tables.ts';
import type { Order, SettlementAttempt } from '#core/orders/order.ts';
import type { RefundBinding } from '#core/ports.ts';

export { orderKeyOf } from '#adapters/table-order-store.ts';

export interface DynamoOrderStoreOptions extends TableOrderStoreOptions {
  readonly ordersTable: string;
  readonly wakeupsTable: string;
}

/** Where the sweep has got to: the wake-ups due up to this time have been looked at. */
const watermarkKey = { bucket: 'WATERMARK', due: 'sweep' };

const isConditionalCheckFailed = (error: unknown) => error instanceof ConditionalCheckFailedException;

/**
 * The orders and wake-ups tables in DynamoDB (`adapters/tables.ts` gives their keys), through the SDK's document
 * client: the runtime makes one per container.
 */
export class DynamoOrderTables implements OrderTables {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly wakeups: string;

  constructor(
    doc: DynamoDBDocumentClient,
    options: { readonly ordersTable: string; readonly wakeupsTable: string },
  ) {
    this.doc = doc;
    this.table = options.ordersTable;
    this.wakeups = options.wakeupsTable;
  }

  async putNewOrder(key: string, order: Order): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...order, [ordersTableSchema.partitionKey]: key },
          ConditionExpression: `attribute_not_exists(${ordersTableSchema.partitionKey})`,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async putNewBinding(key: string, binding: RefundBinding): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...binding, [ordersTableSchema.partitionKey]: key },
          ConditionExpression: `attribute_not_exists(${ordersTableSchema.partitionKey})`,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async deleteBinding(key: string, refundId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { [ordersTableSchema.partitionKey]: key },
          ConditionExpression: 'refund_id = :id',
          ExpressionAttributeValues: { ':id': refundId },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async getBinding(key: string): Promise<RefundBinding | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { [ordersTableSchema.partitionKey]: key },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const { [ordersTableSchema.partitionKey]: _key, ...binding } = Item;
    return binding as RefundBinding;
  }

  async getOrder(key: string): Promise<Order | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { [ordersTableSchema.partitionKey]: key },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async updateOrder(
    key: string,
    expectedVersion: number,
    changes: Readonly<Record<string, unknown>>,
    attempts: readonly SettlementAttempt[],
  ): Promise<boolean> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = { ':expected': expectedVersion };
    const sets: string[] = [];
    const removes: string[] = [];
    let i = 0;
    for (const [field, value] of Object.entries(changes)) {
      i += 1;
      const name = field === 'version' ? '#version' : `#f${i}`;
      names[name] = field;
      if (value === undefined) {
        removes.push(name);
      } else {
        values[`:v${i}`] = value;
        sets.push(`${name} = :v${i}`);
      }
    }
    if (attempts.length > 0) {
      names['#settlement'] = 'settlement';
      values[':attempt'] = attempts;
      values[':empty'] = [];
      sets.push('#settlement = list_append(if_not_exists(#settlement, :empty), :attempt)');
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [ordersTableSchema.partitionKey]: key },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async leasesOf(keys: readonly string[]): Promise<Map<string, LeaseView | undefined>> {
    const found = new Map<string, LeaseView | undefined>(keys.map((key) => [key, undefined]));
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Record<string, unknown>[] = keys
        .slice(i, i + 100)
        .map((key) => ({ [ordersTableSchema.partitionKey]: key }));
      while (pending.length > 0) {
        const { Responses, UnprocessedKeys } = await this.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [this.table]: {
                Keys: pending,
                ProjectionExpression: '#key, merchant_id, mch_trade_id, settle_due_at, created_at',
                ExpressionAttributeNames: { '#key': ordersTableSchema.partitionKey },
              },
            },
          }),
        );
        for (const item of Responses?.[this.table] ?? []) {
          found.set(String(item[ordersTableSchema.partitionKey]), item as unknown as LeaseView);
        }
        pending = UnprocessedKeys?.[this.table]?.Keys ?? [];
      }
    }
    return found;
  }

  async putWakeup(wakeup: Wakeup): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.wakeups,
        Item: {
          [wakeupsTableSchema.partitionKey]: wakeup.bucket,
          [wakeupsTableSchema.sortKey]: wakeup.due,
          order_key: wakeup.order_key,
          [wakeupsTableSchema.timeToLiveAttribute]: wakeup.expires_at,
        },
      }),
    );
  }

  async deleteWakeup(wakeup: Pick<Wakeup, 'bucket' | 'due'>): Promise<void> {
    await this.doc.send(
      new DeleteCommand({
        TableName: this.wakeups,
        Key: { [wakeupsTableSchema.partitionKey]: wakeup.bucket, [wakeupsTableSchema.sortKey]: wakeup.due },
      }),
    );
  }

  async wakeupsIn(bucket: string, from: string, to: string): Promise<string[]> {
    const keys: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.wakeups,
          KeyConditionExpression: '#bucket = :bucket AND #due BETWEEN :from AND :to',
          ExpressionAttributeNames: {
            '#bucket': wakeupsTableSchema.partitionKey,
            '#due': wakeupsTableSchema.sortKey,
          },
          ExpressionAttributeValues: { ':bucket': bucket, ':from': from, ':to': to },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) keys.push(String(item.order_key));
      start = page.LastEvaluatedKey;
    } while (start);
    return keys;
  }

  async watermark(): Promise<string | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.wakeups, Key: watermarkKey, ConsistentRead: true }),
    );
    return typeof Item?.reached === 'string' ? Item.reached : undefined;
  }

  async advanceWatermark(reached: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.wakeups,
          Item: { ...watermarkKey, reached },
          ConditionExpression: 'attribute_not_exists(reached) OR reached < :reached',
          ExpressionAttributeValues: { ':reached': reached },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

/** The order store over DynamoDB: `TableOrderStore`'s logic on the two tables. */
export class DynamoOrderStore extends TableOrderStore {
  constructor(doc: DynamoDBDocumentClient, options: DynamoOrderStoreOptions) {
    super(new DynamoOrderTables(doc, options), options);
  }
}

/**
 * The order in an item: every attribute but the table key, none undefined, `settlement` always a list. One
 * copying loop: destructuring, then deleting the undefined ones and spreading again, was a per-payment cost.
 */
function fromItem(item: Record<string, unknown>): Order {
  const order: Record<string, unknown> = {};
  for (const key in item) {
    const value = item[key];
    if (value !== undefined && key !== ordersTableSchema.partitionKey) order[key] = value;
  }
  order.settlement ??= [];
  return order as unknown as Order;
}
