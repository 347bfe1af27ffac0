import type { OrderTables, Wakeup } from '#adapters/order-tables.ts';
import { refundBindingMark } from '#adapters/tables.ts';
import { StaleOrderError } from '#core/errors.ts';
import { orderHash, orderHashOfTradeId, refundHash } from '#core/ids.ts';
import { leaseProblem, type Order, type SettlementAttempt } from '#core/orders/order.ts';
import type { DueOrders, OrderKey, OrderStore, RefundBinding } from '#core/ports.ts';

export interface TableOrderStoreOptions {
  /**
   * When an order found with its lease run out is looked at again if it is still open then (its sweep
   * claims it meanwhile, or dies). @default 60_000
   */
  readonly recheckAfterMs?: number;
  /** Shards per wake-up minute: each takes up to 1,000 writes a second in DynamoDB. @default 4 */
  readonly shards?: number;
  /** The wall clock `updated_at` is written from. @default Date.now */
  readonly now?: () => number;
}

/** How long a wake-up is kept after it was due (DynamoDB's TTL deletes it, at no charge). */
const wakeupRetentionSeconds = 7 * 24 * 3600;
/** How far back a sweep with no watermark yet (a new table) begins: inside one sweep's reach. */
const firstSweepLookbackMs = 10 * 60 * 1000;
/** Minutes of wake-ups one sweep looks at, at most: one that fell far behind catches up an hour a run. */
const maxMinutesPerSweep = 60;

/** The key of a refund number's binding in the orders table (`adapters/tables.ts`). */
export function bindingKeyOf(merchantId: string, hash: string): string {
  return `${merchantId}${refundBindingMark}${hash}`;
}

/** The key of an order in the orders table. */
export function orderKeyOf(merchantId: string, hash: string): string {
  return `${merchantId}/${hash}`;
}

/**
 * Orders over two tables (`OrderTables`): one flat item per order keyed by `order_key` (`core/ids.ts`), every
 * update conditional on `version`, no secondary index.
 *
 * The settlement lease (`settle_due_at`) is kept findable through wake-ups: whenever an order gets a lease it
 * did not have (its creation, or a final order reopened), a wake-up at the lease's end is written before the
 * order is. The sweep (`listDue`) reads the wake-ups that fell due since its watermark; for each order still
 * open it writes the next wake-up (at the lease's end, or `recheckAfterMs` on when the lease already ran out)
 * before it moves the watermark on. So every open order always has a wake-up ahead of it, and an order that
 * settles at once costs three writes (wake-up, create, update).
 */
export class TableOrderStore implements OrderStore {
  private readonly tables: OrderTables;
  private readonly recheckAfterMs: number;
  private readonly shards: number;
  private readonly now: () => number;

  constructor(tables: OrderTables, options: TableOrderStoreOptions = {}) {
    this.tables = tables;
    this.recheckAfterMs = options.recheckAfterMs ?? 60_000;
    this.shards = options.shards ?? 4;
    this.now = options.now ?? Date.now;
  }

  async create(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    assertLease(order);
    const key = keyOf(order);
    // The wake-up comes first (a process that dies after the put leaves an order the sweep finds), and names
    // this creation: one that loses to an order already there takes back its own, and only its own.
    const wakeup = order.settle_due_at
      ? this.wakeup(key, order.settle_due_at, order.create_token)
      : undefined;
    if (wakeup) await this.tables.putWakeup(wakeup);
    if (await this.tables.putNewOrder(key, order)) return { created: true };
    if (wakeup) await this.tables.deleteWakeup(wakeup);
    const existing = await this.tables.getOrder(key);
    if (existing?.merchant_id === order.merchant_id) return { created: false, existing };
    throw new Error(`order key ${key} is taken by another merchant's order`);
  }

  async get(key: OrderKey): Promise<Order | undefined> {
    const order = await this.tables.getOrder(keyOf(key));
    return order?.merchant_id === key.merchant_id && order.mch_trade_id === key.mch_trade_id
      ? order
      : undefined;
  }

  async findByTradeId(merchantId: string, tradeId: string): Promise<Order | undefined> {
    const hash = orderHashOfTradeId(tradeId);
    if (hash === undefined) return undefined;
    const order = await this.tables.getOrder(orderKeyOf(merchantId, hash));
    return order?.merchant_id === merchantId && order.trade_id === tradeId ? order : undefined;
  }

  async update(
    order: Order,
    changes: Partial<Order>,
    attempts: readonly SettlementAttempt[] = [],
  ): Promise<Order> {
    const updatedAt = new Date(this.now()).toISOString();
    const written: Record<string, unknown> = {
      ...changes,
      updated_at: updatedAt,
      version: order.version + 1,
    };
    delete written.merchant_id;
    delete written.mch_trade_id;
    const next: Record<string, unknown> = { ...order, ...written };
    assertLease(next as unknown as Order);
    const key = keyOf(order);
    // A lease the order did not hold (a final order reopened) needs its wake-up before the write lands.
    if (order.settle_due_at === undefined && typeof next.settle_due_at === 'string') {
      await this.wakeAt(key, next.settle_due_at);
    }
    if (!(await this.tables.updateOrder(key, order.version, written, attempts))) {
      throw new StaleOrderError(`order ${order.trade_id} changed since version ${order.version}`);
    }
    for (const [field, value] of Object.entries(next)) if (value === undefined) delete next[field];
    next.settlement = [...order.settlement, ...attempts];
    return next as unknown as Order;
  }

  /**
   * The orders whose lease ran out, from the wake-ups due since the watermark (up to `nowIso`). Each open
   * order gets its next wake-up before the watermark moves past the one that was looked at, so a sweep that
   * dies half-way only makes the next one look again. At least `limit` wake-ups are looked at per call.
   */
  async listDue(nowIso: string, limit: number): Promise<DueOrders> {
    const now = Date.parse(nowIso);
    const from = (await this.tables.watermark()) ?? new Date(now - firstSweepLookbackMs).toISOString();
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
      for (const [key, order] of await this.tables.leasesOf(wakeups)) {
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
    await this.tables.advanceWatermark(reached);
    return { due, openCreatedAt };
  }

  async bindRefundNumber(binding: RefundBinding): Promise<RefundBinding> {
    const key = bindingKeyOf(binding.merchant_id, refundHash(binding.merchant_id, binding.out_refund_no));
    if (await this.tables.putNewBinding(key, binding)) return binding;
    const existing = await this.tables.getBinding(key);
    if (existing?.merchant_id !== binding.merchant_id) throw new Error(`refund key ${key} is taken`);
    return existing;
  }

  async unbindRefundNumber(binding: RefundBinding): Promise<void> {
    const key = bindingKeyOf(binding.merchant_id, refundHash(binding.merchant_id, binding.out_refund_no));
    await this.tables.deleteBinding(key, binding.refund_id);
  }

  async findRefundBinding(
    merchantId: string,
    by: { readonly out_refund_no: string } | { readonly refund_id: string },
  ): Promise<RefundBinding | undefined> {
    const hash =
      'out_refund_no' in by ? refundHash(merchantId, by.out_refund_no) : orderHashOfTradeId(by.refund_id);
    if (hash === undefined) return undefined;
    const binding = await this.tables.getBinding(bindingKeyOf(merchantId, hash));
    if (binding?.merchant_id !== merchantId) return undefined;
    const matches =
      'out_refund_no' in by ? binding.out_refund_no === by.out_refund_no : binding.refund_id === by.refund_id;
    return matches ? binding : undefined;
  }

  /** Writes "look at this order at `dueIso`" (idempotent: the same order and time is one item). */
  private async wakeAt(orderKey: string, dueIso: string): Promise<void> {
    await this.tables.putWakeup(this.wakeup(orderKey, dueIso));
  }

  private wakeup(orderKey: string, dueIso: string, writer?: string): Wakeup {
    return {
      bucket: `${minuteOf(dueIso)}#${shardOf(orderKey, this.shards)}`,
      due: `${dueIso}#${orderKey}${writer ? `#${writer}` : ''}`,
      order_key: orderKey,
      expires_at: Math.floor(Date.parse(dueIso) / 1000) + wakeupRetentionSeconds,
    };
  }

  /** The order keys of the wake-ups of one minute due after `fromIso` and by `toIso`, every shard. */
  private async wakeupsIn(minute: string, fromIso: string, toIso: string): Promise<string[]> {
    const shards = Array.from({ length: this.shards }, (_, shard) => shard);
    const found = await Promise.all(
      shards.map((shard) =>
        this.tables.wakeupsIn(`${minute}#${shard}`, `${fromIso}#\uffff`, `${toIso}#\uffff`),
      ),
    );
    return [...new Set(found.flat())];
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
