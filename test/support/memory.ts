import type { LeaseView, OrderTables, Wakeup } from '#adapters/order-tables.ts';
import { TableOrderStore } from '#adapters/table-order-store.ts';
import type {
  Channel,
  ChannelOrder,
  ChannelRefunds,
  PayCommand,
  PayResult,
  QueryResult,
  RefundProtocol,
  ReverseResult,
  SettlementProtocol,
} from '#core/channels/channel.ts';
import { verifyAnswer } from '#core/channels/verified.ts';
import { wechatProtocol } from '#core/channels/wechat/protocol.ts';
import type { Merchant } from '#core/merchants.ts';
import type { Order, SettlementAttempt } from '#core/orders/order.ts';
import type { PaymentOutcome, Ports, RefundBinding, SettlementInput, Telemetry } from '#core/ports.ts';
import type { Refund } from '#core/refunds/refund.ts';
import { refundAfterQuery, refundBehaviour } from '#sandbox/outcomes.ts';

/**
 * The order store's two tables as maps, with DynamoDB's semantics that matter for money: a conditional create,
 * updates conditional on `version`, wake-ups ordered by their sort key, a watermark that only moves forward.
 * Every write is counted, wake-ups and the watermark included.
 */
export class MemoryOrderTables implements OrderTables {
  readonly orders = new Map<string, Order>();
  readonly wakeups = new Map<string, Map<string, Wakeup>>();
  reached: string | undefined;
  writes = 0;
  /** Items as they were before their first write since `journal()` (JSON text; undefined: no item). */
  private before: Map<string, string | undefined> | undefined;

  /**
   * Starts noting the items written; `changed()` then names those that differ from what they were, so a write
   * undone (a wake-up put, then deleted) is no change.
   */
  journal(): { changed: () => string[] } {
    const before = new Map<string, string | undefined>();
    this.before = before;
    return {
      changed: () => {
        this.before = undefined;
        return [...before].filter(([item, was]) => this.itemText(item) !== was).map(([item]) => item);
      },
    };
  }

  private itemText(item: string): string | undefined {
    const [table, key, sort] = item.split('\u0000') as [string, string, string];
    const value =
      table === 'orders'
        ? this.orders.get(key)
        : table === 'wakeups'
          ? this.wakeups.get(key)?.get(sort)
          : this.reached;
    return value === undefined ? undefined : JSON.stringify(value);
  }

  private noteWrite(table: 'orders' | 'wakeups' | 'watermark', key = '', sort = ''): void {
    this.writes += 1;
    const item = `${table}\u0000${key}\u0000${sort}`;
    if (this.before && !this.before.has(item)) this.before.set(item, this.itemText(item));
  }

  async putNewOrder(key: string, order: Order): Promise<boolean> {
    if (this.orders.has(key)) return false;
    this.noteWrite('orders', key);
    this.orders.set(key, structuredClone(order));
    return true;
  }

  async putNewBinding(key: string, binding: RefundBinding): Promise<boolean> {
    if (this.orders.has(key)) return false;
    this.noteWrite('orders', key);
    this.orders.set(key, structuredClone(binding) as unknown as Order);
    return true;
  }

  async deleteBinding(key: string, refundId: string): Promise<void> {
    const held = this.orders.get(key) as unknown as RefundBinding | undefined;
    if (held?.refund_id !== refundId) return;
    this.noteWrite('orders', key);
    this.orders.delete(key);
  }

  async getBinding(key: string): Promise<RefundBinding | undefined> {
    const binding = this.orders.get(key);
    return binding && (structuredClone(binding) as unknown as RefundBinding);
  }

  async getOrder(key: string): Promise<Order | undefined> {
    const order = this.orders.get(key);
    return order && structuredClone(order);
  }

  async updateOrder(
    key: string,
    expectedVersion: number,
    changes: Readonly<Record<string, unknown>>,
    attempts: readonly SettlementAttempt[],
  ): Promise<boolean> {
    const stored = this.orders.get(key);
    if (!stored || stored.version !== expectedVersion) return false;
    const next: Record<string, unknown> = { ...stored, ...structuredClone(changes) };
    for (const [name, value] of Object.entries(next)) if (value === undefined) delete next[name];
    next.settlement = [...stored.settlement, ...structuredClone(attempts)];
    this.noteWrite('orders', key);
    this.orders.set(key, next as unknown as Order);
    return true;
  }

  async leasesOf(keys: readonly string[]): Promise<Map<string, LeaseView | undefined>> {
    return new Map(
      keys.map((key) => {
        const order = this.orders.get(key);
        if (!order) return [key, undefined];
        const { merchant_id, mch_trade_id, settle_due_at, created_at } = order;
        return [key, { merchant_id, mch_trade_id, settle_due_at, created_at }];
      }),
    );
  }

  async putWakeup(wakeup: Wakeup): Promise<void> {
    this.noteWrite('wakeups', wakeup.bucket, wakeup.due);
    const bucket = this.wakeups.get(wakeup.bucket) ?? new Map<string, Wakeup>();
    bucket.set(wakeup.due, wakeup);
    this.wakeups.set(wakeup.bucket, bucket);
  }

  async deleteWakeup(wakeup: Pick<Wakeup, 'bucket' | 'due'>): Promise<void> {
    this.noteWrite('wakeups', wakeup.bucket, wakeup.due);
    this.wakeups.get(wakeup.bucket)?.delete(wakeup.due);
  }

  async wakeupsIn(bucket: string, from: string, to: string): Promise<string[]> {
    return [...(this.wakeups.get(bucket)?.values() ?? [])]
      .filter((wakeup) => wakeup.due > from && wakeup.due <= to)
      .sort((a, b) => (a.due < b.due ? -1 : 1))
      .map((wakeup) => wakeup.order_key);
  }

  async watermark(): Promise<string | undefined> {
    return this.reached;
  }

  async advanceWatermark(reached: string): Promise<void> {
    if (this.reached !== undefined && this.reached >= reached) return;
    this.noteWrite('watermark');
    this.reached = reached;
  }

  /**
   * The open orders no future sweep would find: no wake-up of theirs is due after the watermark. Empty while
   * the store keeps its promise that every order holding a lease has a wake-up ahead of the sweep.
   */
  unfindable(): string[] {
    const ahead = new Set<string>();
    const from = this.reached === undefined ? '' : `${this.reached}#\uffff`;
    for (const bucket of this.wakeups.values()) {
      for (const wakeup of bucket.values()) if (wakeup.due > from) ahead.add(wakeup.order_key);
    }
    return [...this.orders]
      .filter(([key, order]) => order.settle_due_at !== undefined && !ahead.has(key))
      .map(([, order]) => `${order.trade_id} (${order.state}, lease ${order.settle_due_at})`);
  }
}

/**
 * The unit tests' order store: the deployed store's logic (`TableOrderStore`: keys, the lease invariant,
 * wake-ups, the sweep's watermark) over `MemoryOrderTables`, so its sweep finds due orders exactly as the
 * DynamoDB store does.
 */
export class MemoryOrderStore extends TableOrderStore {
  readonly memory: MemoryOrderTables;

  /** `wrap` puts something between the store and its tables (a test's kill points). */
  constructor(
    options: { wrap?: (tables: OrderTables) => OrderTables; now?: () => number } = {},
    memory = new MemoryOrderTables(),
  ) {
    super(options.wrap ? options.wrap(memory) : memory, { now: options.now });
    this.memory = memory;
  }

  /** Every order held, by key. */
  get items(): ReadonlyMap<string, Order> {
    return this.memory.orders;
  }

  /** Writes of every kind so far (orders, wake-ups, the watermark). */
  get writes(): number {
    return this.memory.writes;
  }
}

/** Records settlement starts; like Step Functions, a name already started is not started again. */
export class RecordingWorkflow {
  readonly started = new Map<string, SettlementInput>();
  async startSettlement(input: SettlementInput, name: string): Promise<void> {
    if (!this.started.has(name)) this.started.set(name, input);
  }
}

/** What a simulated channel's buyer does, by SPEC section 6's sandbox outcomes. */
export type SimOutcome = '00' | '01' | '02' | '03' | '05' | '06' | '07' | '08' | '09' | '10';

/** The channel's own record of one order: the truth an order must end up agreeing with. */
export interface SimTrade {
  state: 'USERPAYING' | 'SUCCESS' | 'PAYERROR' | 'REVOKED' | 'NONE';
  queries: number;
  reverses: number;
}

/**
 * A channel whose answers follow the sandbox outcome table and whose own ledger (`trades`) says where the
 * money really is. Its answers are "verified" with always-true checks: it stands for a channel whose wire
 * layer already proved them.
 */
export class SimChannel implements Channel {
  readonly name = 'wechat';
  /** The settlement protocol it runs under (WeChat's unless a test gives another channel's table). */
  readonly protocol: SettlementProtocol;
  readonly trades = new Map<string, SimTrade>();
  readonly calls: string[] = [];
  outcome: SimOutcome;
  /** Runs inside the pay call, after the channel took the request: a concurrent request lands mid-flight. */
  duringPay?: () => Promise<void>;

  constructor(outcome: SimOutcome, protocol: SettlementProtocol = wechatProtocol) {
    this.outcome = outcome;
    this.protocol = protocol;
  }

  private proof() {
    const checked = verifyAnswer({}, { authenticity: () => 'signature', mismatch: () => undefined });
    if (!checked.ok) throw new Error('unreachable');
    return checked.verified;
  }

  async pay(_ctx: unknown, command: PayCommand): Promise<PayResult> {
    this.calls.push('pay');
    const o = this.outcome;
    const trade: SimTrade = { state: 'NONE', queries: 0, reverses: 0 };
    if (o !== '03') this.trades.set(command.out_trade_no, trade);
    if (['00', '05', '06'].includes(o)) trade.state = 'SUCCESS';
    if (['01', '02', '08', '09', '10'].includes(o)) trade.state = 'USERPAYING';
    await this.duringPay?.();
    const proof = this.proof();
    switch (o) {
      case '00':
        return {
          kind: 'paid',
          details: { out_trade_id: `tx-${command.out_trade_no}` },
          said: 'SUCCESS',
          proof,
        };
      case '03':
        return { kind: 'refused', errCode: 'NOTENOUGH', errMsg: 'no balance', said: 'NOTENOUGH', proof };
      case '05':
        return { kind: 'pending', said: 'SYSTEMERROR' };
      case '06':
      case '07':
        return { kind: 'unknown', said: 'TIMEOUT' };
      default:
        return { kind: 'pending', said: 'USERPAYING' };
    }
  }

  async query(_ctx: unknown, order: ChannelOrder): Promise<QueryResult> {
    this.calls.push('query');
    const trade = this.trades.get(order.out_trade_no);
    if (!trade || trade.state === 'NONE') return { kind: 'pending', said: 'ORDERNOTEXIST' };
    trade.queries += 1;
    if (trade.state === 'USERPAYING' && this.outcome === '01' && trade.queries >= 2) trade.state = 'SUCCESS';
    if (trade.state === 'USERPAYING' && this.outcome === '08') trade.state = 'PAYERROR';
    const proof = this.proof();
    switch (trade.state) {
      case 'SUCCESS':
        return {
          kind: 'paid',
          details: { out_trade_id: `tx-${order.out_trade_no}` },
          refunded: false,
          said: 'SUCCESS',
          proof,
        };
      case 'PAYERROR':
        return { kind: 'failed', errCode: 'PAYERROR', errMsg: 'cancelled', said: 'PAYERROR', proof };
      case 'REVOKED':
        return { kind: 'reversed', said: 'REVOKED', proof };
      default:
        return { kind: 'pending', said: 'USERPAYING' };
    }
  }

  /** The channel's refund ledger, by our refund number: what it really refunded (`taken`). */
  readonly refundLedger = new Map<string, SimRefund>();

  readonly refunds: ChannelRefunds = {
    protocol: simRefundProtocol,
    refund: async (_ctx, command) => {
      this.calls.push('refund');
      const known = this.refundLedger.get(command.out_refund_no);
      const entry: SimRefund = known ?? {
        out_trade_no: command.out_trade_no,
        fee: command.refund_fee,
        state: 'NONE',
        sends: 0,
        queries: 0,
      };
      this.refundLedger.set(command.out_refund_no, entry);
      entry.sends += 1;
      const proof = this.proof();
      if (entry.state !== 'NONE') return { kind: 'processing', said: 'SUCCESS' };
      const behaviour = refundBehaviour(command.refund_fee, entry.sends);
      const takenBefore = [...this.refundLedger.values()]
        .filter(
          (r) =>
            r.out_trade_no === command.out_trade_no &&
            r !== entry &&
            r.state !== 'NONE' &&
            r.state !== 'CLOSED',
        )
        .reduce((sum, r) => sum + r.fee, 0);
      if (behaviour.kind === 'refused' || takenBefore + command.refund_fee > command.total_fee) {
        return {
          kind: 'failed',
          errCode: 'NOTENOUGH',
          errMsg: 'not enough to refund',
          said: 'NOTENOUGH',
          proof,
        };
      }
      if (behaviour.kind === 'silent') {
        if (behaviour.taken) entry.state = 'SUCCESS';
        return { kind: 'unknown', said: 'TIMEOUT' };
      }
      entry.state = behaviour.kind === 'refunded' ? 'SUCCESS' : 'PROCESSING';
      return { kind: 'processing', said: 'SUCCESS' };
    },
    query: async (_ctx, command) => {
      this.calls.push('refund_query');
      const entry = this.refundLedger.get(command.out_refund_no);
      const proof = this.proof();
      if (!entry || entry.state === 'NONE') return { kind: 'absent', said: 'REFUNDNOTEXIST', proof };
      entry.queries += 1;
      if (entry.state === 'PROCESSING') {
        const now = refundAfterQuery(entry.fee, entry.queries);
        entry.state =
          now === 'refunded'
            ? 'SUCCESS'
            : now === 'change'
              ? 'CHANGE'
              : now === 'closed'
                ? 'CLOSED'
                : 'PROCESSING';
      }
      switch (entry.state) {
        case 'SUCCESS':
          return { kind: 'refunded', ch_refund_id: `rf-${command.out_refund_no}`, said: 'SUCCESS', proof };
        case 'CHANGE':
          return { kind: 'abnormal', said: 'CHANGE', proof };
        case 'CLOSED':
          return { kind: 'failed', errCode: 'REFUNDCLOSE', errMsg: 'closed', said: 'REFUNDCLOSE', proof };
        default:
          return { kind: 'processing', said: 'PROCESSING' };
      }
    },
  };

  async reverse(_ctx: unknown, order: ChannelOrder): Promise<ReverseResult> {
    this.calls.push('reverse');
    const trade = this.trades.get(order.out_trade_no) ?? { state: 'NONE', queries: 0, reverses: 0 };
    this.trades.set(order.out_trade_no, trade);
    trade.reverses += 1;
    if (this.outcome === '10' || (this.outcome === '09' && trade.reverses === 1)) {
      return { kind: 'retry', said: 'SYSTEMERROR recall=Y' };
    }
    trade.state = 'REVOKED';
    return { kind: 'reversed', said: 'SUCCESS', proof: this.proof() };
  }
}

/** One refund as the sim channel's ledger holds it. */
export interface SimRefund {
  readonly out_trade_no: string;
  readonly fee: number;
  state: 'NONE' | 'PROCESSING' | 'SUCCESS' | 'CHANGE' | 'CLOSED';
  sends: number;
  queries: number;
}

/** WeChat's refund timings, for the sim channel. */
export const simRefundProtocol: RefundProtocol = {
  queryDelaysMs: [10_000, 20_000, 40_000, 60_000, 300_000, 3_600_000],
  resendDelaysMs: [5_000, 10_000, 30_000, 60_000, 300_000],
  overdueAfterMs: 72 * 3600 * 1000,
  callDeadlineMs: 10_000,
  source: 'test double',
};

export const testMerchant: Merchant = {
  merchant_id: 'M1',
  status: 0,
  pay_types: { 'wechat.micro': { channel: 'wechat', account: { appid: 'wx1', mch_id: '1900000109' } } },
  secret: { api_key: 'merchant-key-0123456789abcdef', channels: { wechat: { api_key: 'w'.repeat(32) } } },
};

/** Ports over the fakes, with a clock the test moves. `wrapTables` goes between the store and its tables. */
export function memoryPorts(
  channel: Channel,
  options: { now?: number; wrapTables?: (tables: OrderTables) => OrderTables } = {},
) {
  const clock = { time: options.now ?? Date.parse('2026-01-01T00:00:00.000Z') };
  const orders = new MemoryOrderStore({ wrap: options.wrapTables, now: () => clock.time });
  const workflow = new RecordingWorkflow();
  const telemetry = new RecordingTelemetry();
  const ports: Ports = {
    orders,
    merchants: { get: async (id) => (id === testMerchant.merchant_id ? testMerchant : undefined) },
    channels: { get: (name) => (name === channel.name ? channel : undefined) },
    workflow,
    clock: { now: () => clock.time },
    telemetry,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    timeScale: 1,
    deadlineScale: 1,
    leaseGraceMs: 60_000,
  };
  return { ports, orders, workflow, clock, alarms: telemetry.reverseFailures, telemetry };
}

/** Telemetry that keeps what it was told, for tests to read. */
export class RecordingTelemetry implements Telemetry {
  readonly payments: string[] = [];
  readonly settlements: string[] = [];
  readonly reverseFailures: string[] = [];
  readonly restarts: string[] = [];
  readonly openAges: number[][] = [];
  paymentAnswered(channel: string, outcome: PaymentOutcome): void {
    this.payments.push(`${channel}:${outcome}`);
  }
  settled(order: Order): void {
    this.settlements.push(`${order.trade_id}:${order.state}`);
  }
  reverseFailed(order: Order): void {
    this.reverseFailures.push(order.trade_id);
  }
  settlementRestarted(order: Order): void {
    this.restarts.push(order.trade_id);
  }
  openOrders(agesMs: readonly number[]): void {
    this.openAges.push([...agesMs]);
  }
  readonly refundAnswers: string[] = [];
  readonly refundsSettled: string[] = [];
  readonly refundsOverdue: string[] = [];
  refundAnswered(channel: string, result: string): void {
    this.refundAnswers.push(`${channel}:${result}`);
  }
  refundSettled(_order: Order, refund: Refund): void {
    this.refundsSettled.push(`${refund.refund_id}:${refund.status}`);
  }
  refundOverdue(_order: Order, refund: Refund): void {
    this.refundsOverdue.push(refund.refund_id);
  }
}
