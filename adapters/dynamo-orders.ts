import { type DynamoDbCaller, DynamoDocuments, isConditionalCheckFailed } from '#adapters/dynamodb-http.ts';
import { ordersTableSchema, wakeupsTableSchema } from '#adapters/tables.ts';
import { StaleOrderError } from '#core/errors.ts';
import { orderHash, orderHashOfTradeId } from '#core/ids.ts';
import { leaseProblem, type Order, type SettlementAttempt } from '#core/orders/order.ts';
import type { DueOrders, OrderKey, OrderStore } from '#core/ports.ts';

export interface DynamoOrderStoreOptions {
  readonly ordersTable: string;
  readonly wakeupsTable: string;
  /**
   * When an order found with its lease run out is looked at again if it is still open then (its sweep
   * claims it meanwhile, or dies). @default 60_000
   */
  readonly recheckAfterMs?: number;
  /** Shards per wake-up minute: each takes up to 1,000 writes a second. @default 4 */
  readonly shards?: number;
}

/** How long a wake-up is kept after it was due (DynamoDB's TTL deletes it, at no charge). */
const wakeupRetentionSeconds = 7 * 24 * 3600;
/** Where the sweep has got to: the wake-ups due up to this time have been looked at. */
const watermarkKey = { bucket: 'WATERMARK', due: 'sweep' };
/** How far back a sweep with no watermark yet (a new table) begins: inside one sweep's reach. */
const firstSweepLookbackMs = 10 * 60 * 1000;
/** Minutes of wake-ups one sweep looks at, at most: one that fell far behind catches up an hour a run. */
const maxMinutesPerSweep = 60;

/** The key of an order in the orders table. */
export function orderKeyOf(merchantId: string, hash: string): string {
  return `${merchantId}/${hash}`;
}

/**
 * Orders in DynamoDB: one flat item per order keyed by `order_key` (`core/ids.ts`), every update
 * conditional on `version`, no secondary index.
 *
 * The settlement lease (`settle_due_at`) is kept findable through wake-ups in a second table: whenever an
 * order gets a lease it did not have (its creation, or a final order reopened), a wake-up at the lease's end
 * is written before the order is. The sweep (`listDue`) reads the wake-ups that fell due since its
 * watermark; for each order still open it writes the next wake-up (at the lease's end, or `recheckAfterMs`
 * on when the lease already ran out) before it moves the watermark on. So every open order always has a
 * wake-up ahead of it, and an order that settles at once costs three writes (wake-up, create, update).
 */
export class DynamoOrderStore implements OrderStore {
  private readonly doc: DynamoDocuments;
  private readonly table: string;
  private readonly wakeups: string;
  private readonly recheckAfterMs: number;
  private readonly shards: number;

  constructor(db: DynamoDbCaller, options: DynamoOrderStoreOptions) {
    this.doc = new DynamoDocuments(db);
    this.table = options.ordersTable;
    this.wakeups = options.wakeupsTable;
    this.recheckAfterMs = options.recheckAfterMs ?? 60_000;
    this.shards = options.shards ?? 4;
  }

  async create(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    assertLease(order);
    const key = keyOf(order);
    if (order.settle_due_at) await this.wakeAt(key, order.settle_due_at);
    try {
      await this.doc.put({
        TableName: this.table,
        Item: { ...order, [ordersTableSchema.partitionKey]: key },
        ConditionExpression: `attribute_not_exists(${ordersTableSchema.partitionKey})`,
      });
      return { created: true };
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        const existing = await this.read(key);
        if (existing?.merchant_id === order.merchant_id) return { created: false, existing };
      }
      throw error;
    }
  }

  async get(key: OrderKey): Promise<Order | undefined> {
    const order = await this.read(keyOf(key));
    return order?.merchant_id === key.merchant_id && order.mch_trade_id === key.mch_trade_id
      ? order
      : undefined;
  }

  async findByTradeId(merchantId: string, tradeId: string): Promise<Order | undefined> {
    const hash = orderHashOfTradeId(tradeId);
    if (hash === undefined) return undefined;
    const order = await this.read(orderKeyOf(merchantId, hash));
    return order?.merchant_id === merchantId && order.trade_id === tradeId ? order : undefined;
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
    const key = keyOf(order);
    // A lease the order did not hold (a final order reopened) needs its wake-up before the write lands.
    if (order.settle_due_at === undefined && typeof next.settle_due_at === 'string') {
      await this.wakeAt(key, next.settle_due_at);
    }
    const updatedAt = new Date().toISOString();
    next.updated_at = updatedAt;
    let i = 0;
    for (const [field, value] of Object.entries({ ...changes, updated_at: updatedAt })) {
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
      await this.doc.update({
        TableName: this.table,
        Key: { [ordersTableSchema.partitionKey]: key },
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new StaleOrderError(`order ${order.trade_id} changed since version ${order.version}`);
      }
      throw error;
    }
    return fromItem(next);
  }

  /**
   * The orders whose lease ran out, from the wake-ups due since the watermark (up to `nowIso`). Each open
   * order gets its next wake-up before the watermark moves past the one that was looked at, so a sweep that
   * dies half-way only makes the next one look again. At least `limit` wake-ups are looked at per call.
   */
  async listDue(nowIso: string, limit: number): Promise<DueOrders> {
    const now = Date.parse(nowIso);
    const from = (await this.watermark()) ?? new Date(now - firstSweepLookbackMs).toISOString();
    const due: OrderKey[] = [];
    const openCreatedAt: string[] = [];
    const seen = new Set<string>();
    let reached = from;
    const last = minuteOf(nowIso);
    let minute = minuteOf(from);
    for (
      let looked = 0;
      minute <= last && looked < maxMinutesPerSweep;
      looked++, minute = nextMinute(minute)
    ) {
      const wakeups = (await this.wakeupsIn(minute, from, nowIso)).filter((key) => !seen.has(key));
      for (const key of wakeups) seen.add(key);
      for (const [key, order] of await this.ordersOf(wakeups)) {
        if (!order?.settle_due_at) continue;
        openCreatedAt.push(order.created_at);
        const leaseEnd = Date.parse(order.settle_due_at);
        const expired = leaseEnd <= now;
        await this.wakeAt(key, new Date(expired ? now + this.recheckAfterMs : leaseEnd).toISOString());
        if (expired) due.push({ merchant_id: order.merchant_id, mch_trade_id: order.mch_trade_id });
      }
      // Wake-ups are always written for later than their writer's now, so none can land behind this.
      reached = minute === last ? nowIso : `${minute}:59.999Z`;
      if (due.length >= limit) break;
    }
    await this.advanceWatermark(reached);
    return { due, openCreatedAt };
  }

  private async read(key: string): Promise<Order | undefined> {
    const item = await this.doc.get({
      TableName: this.table,
      Key: { [ordersTableSchema.partitionKey]: key },
      ConsistentRead: true,
    });
    return item ? fromItem(item) : undefined;
  }

  /** Writes "look at this order at `dueIso`" (idempotent: the same order and time is one item). */
  private async wakeAt(orderKey: string, dueIso: string): Promise<void> {
    await this.doc.put({
      TableName: this.wakeups,
      Item: {
        [wakeupsTableSchema.partitionKey]: `${minuteOf(dueIso)}#${shardOf(orderKey, this.shards)}`,
        [wakeupsTableSchema.sortKey]: `${dueIso}#${orderKey}`,
        order_key: orderKey,
        [wakeupsTableSchema.timeToLiveAttribute]:
          Math.floor(Date.parse(dueIso) / 1000) + wakeupRetentionSeconds,
      },
    });
  }

  /** The order keys of the wake-ups of one minute due after `fromIso` and by `toIso`, every shard. */
  private async wakeupsIn(minute: string, fromIso: string, toIso: string): Promise<string[]> {
    const keys = new Set<string>();
    const shards = Array.from({ length: this.shards }, (_, shard) => shard);
    await Promise.all(
      shards.map(async (shard) => {
        let start: Record<string, unknown> | undefined;
        do {
          const page = await this.doc.query({
            TableName: this.wakeups,
            KeyConditionExpression: '#bucket = :bucket AND #due BETWEEN :from AND :to',
            ExpressionAttributeNames: {
              '#bucket': wakeupsTableSchema.partitionKey,
              '#due': wakeupsTableSchema.sortKey,
            },
            ExpressionAttributeValues: {
              ':bucket': `${minute}#${shard}`,
              ':from': `${fromIso}#\uffff`,
              ':to': `${toIso}#\uffff`,
            },
            ExclusiveStartKey: start,
          });
          for (const item of page.items) keys.add(String(item.order_key));
          start = page.lastKey;
        } while (start);
      }),
    );
    return [...keys];
  }

  /** The orders behind wake-ups, read in batches (eventually consistent: the sweep re-reads what it claims). */
  private async ordersOf(keys: readonly string[]): Promise<Map<string, Order | undefined>> {
    const found = new Map<string, Order | undefined>(keys.map((key) => [key, undefined]));
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Record<string, unknown>[] = keys
        .slice(i, i + 100)
        .map((key) => ({ [ordersTableSchema.partitionKey]: key }));
      while (pending.length > 0) {
        const { items, unprocessed } = await this.doc.batchGet({
          TableName: this.table,
          Keys: pending,
          ProjectionExpression: '#key, merchant_id, mch_trade_id, settle_due_at, created_at',
          ExpressionAttributeNames: { '#key': ordersTableSchema.partitionKey },
        });
        for (const item of items) {
          found.set(String(item[ordersTableSchema.partitionKey]), item as unknown as Order);
        }
        pending = unprocessed;
      }
    }
    return found;
  }

  private async watermark(): Promise<string | undefined> {
    const item = await this.doc.get({ TableName: this.wakeups, Key: watermarkKey, ConsistentRead: true });
    return typeof item?.reached === 'string' ? item.reached : undefined;
  }

  /** Moves the watermark forward only: of two concurrent sweeps, the one that got further wins. */
  private async advanceWatermark(reached: string): Promise<void> {
    try {
      await this.doc.put({
        TableName: this.wakeups,
        Item: { ...watermarkKey, reached },
        ConditionExpression: 'attribute_not_exists(reached) OR reached < :reached',
        ExpressionAttributeValues: { ':reached': reached },
      });
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

function keyOf(order: Pick<Order, 'merchant_id' | 'mch_trade_id'>): string {
  return orderKeyOf(order.merchant_id, orderHash(order.merchant_id, order.mch_trade_id));
}

/** `2026-12-01T07:41` of an ISO time. */
function minuteOf(iso: string): string {
  return iso.slice(0, 16);
}

function nextMinute(minute: string): string {
  return new Date(Date.parse(`${minute}:00.000Z`) + 60_000).toISOString().slice(0, 16);
}

function shardOf(orderKey: string, shards: number): number {
  let sum = 0;
  for (let i = 0; i < orderKey.length; i++) sum = (sum * 31 + orderKey.charCodeAt(i)) >>> 0;
  return sum % shards;
}

function assertLease(order: Order): void {
  const problem = leaseProblem(order);
  if (problem) throw new Error(`refused write: ${problem}`);
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
