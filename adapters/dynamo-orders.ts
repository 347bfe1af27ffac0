import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { StaleOrderError } from '#core/errors.ts';
import { leaseProblem, type Order, type SettlementAttempt } from '#core/orders/order.ts';
import type { OrderKey, OrderStore } from '#core/ports.ts';

/** Index names of the orders table (created by lib/orders-table.ts and local/tables.ts alike). */
export const ordersIndexes = {
  byTradeId: 'by-trade-id',
  /** Sparse: only orders with a settlement lease (`settle_due_at`) are in it. */
  due: 'settlement-due',
} as const;

/** The partition value of the due index: one partition keeps the sweep a single Query. */
const dueShard = 'DUE';

/**
 * Orders in DynamoDB: partition key `merchant_id`, sort key `mch_trade_id` (the idempotency key), one
 * flat item per order. Every update is conditional on `version`.
 */
export class DynamoOrderStore implements OrderStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = table;
  }

  async create(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    assertLease(order);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: withDueShard(order),
          ConditionExpression: 'attribute_not_exists(mch_trade_id)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const existing = await this.get(order);
        if (existing) return { created: false, existing };
      }
      throw error;
    }
  }

  async get(key: OrderKey): Promise<Order | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { merchant_id: key.merchant_id, mch_trade_id: key.mch_trade_id },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async findByTradeId(merchantId: string, tradeId: string): Promise<Order | undefined> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: ordersIndexes.byTradeId,
        KeyConditionExpression: 'trade_id = :t',
        ExpressionAttributeValues: { ':t': tradeId },
      }),
    );
    const hit = Items?.find((item) => item.merchant_id === merchantId);
    // The index is eventually consistent; the item itself is read consistently.
    return hit ? this.get({ merchant_id: merchantId, mch_trade_id: String(hit.mch_trade_id) }) : undefined;
  }

  async update(
    order: Order,
    changes: Partial<Order>,
    attempts: readonly SettlementAttempt[] = [],
  ): Promise<Order> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = { ':expected': order.version, ':next': order.version + 1 };
    const sets = ['#version = :next'];
    const removes: string[] = [];
    const next: Record<string, unknown> = { ...order, ...changes, version: order.version + 1 };
    assertLease(next as unknown as Order);
    const updatedAt = new Date().toISOString();
    next.updated_at = updatedAt;
    const all: Record<string, unknown> = { ...changes, updated_at: updatedAt };
    if ('settle_due_at' in changes)
      all.due_shard = changes.settle_due_at === undefined ? undefined : dueShard;
    let i = 0;
    for (const [field, value] of Object.entries(all)) {
      if (field === 'version' || field === 'merchant_id' || field === 'mch_trade_id') continue;
      i += 1;
      names[`#f${i}`] = field;
      if (value === undefined) {
        removes.push(`#f${i}`);
      } else {
        values[`:v${i}`] = value;
        sets.push(`#f${i} = :v${i}`);
      }
    }
    if (attempts.length > 0) {
      names['#settlement'] = 'settlement';
      values[':attempt'] = attempts;
      values[':empty'] = [];
      sets.push('#settlement = list_append(if_not_exists(#settlement, :empty), :attempt)');
      next.settlement = [...order.settlement, ...attempts];
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { merchant_id: order.merchant_id, mch_trade_id: order.mch_trade_id },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StaleOrderError(`order ${order.trade_id} changed since version ${order.version}`);
      }
      throw error;
    }
    return fromItem(next);
  }

  async listDue(nowIso: string, limit: number): Promise<OrderKey[]> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: ordersIndexes.due,
        KeyConditionExpression: 'due_shard = :shard AND settle_due_at <= :now',
        ExpressionAttributeValues: { ':shard': dueShard, ':now': nowIso },
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => ({
      merchant_id: String(item.merchant_id),
      mch_trade_id: String(item.mch_trade_id),
    }));
  }
}

function assertLease(order: Order): void {
  const problem = leaseProblem(order);
  if (problem) throw new Error(`refused write: ${problem}`);
}

function withDueShard(order: Order): Record<string, unknown> {
  return order.settle_due_at ? { ...order, due_shard: dueShard } : { ...order };
}

function fromItem(item: Record<string, unknown>): Order {
  const { due_shard: _shard, ...order } = item;
  for (const [key, value] of Object.entries(order)) if (value === undefined) delete order[key];
  return {
    ...(order as unknown as Order),
    settlement: (order.settlement as Order['settlement'] | undefined) ?? [],
  };
}
