import type {
  Channel,
  ChannelOrder,
  PayCommand,
  PayResult,
  QueryResult,
  ReverseResult,
  SettlementProtocol,
} from '#core/channels/channel.ts';
import { verifyAnswer } from '#core/channels/verified.ts';
import { wechatProtocol } from '#core/channels/wechat/protocol.ts';
import { StaleOrderError } from '#core/errors.ts';
import type { Merchant } from '#core/merchants.ts';
import { leaseProblem, type Order, type SettlementAttempt } from '#core/orders/order.ts';
import type {
  DueOrders,
  OrderKey,
  OrderStore,
  PaymentOutcome,
  Ports,
  SettlementInput,
  Telemetry,
} from '#core/ports.ts';

/**
 * Unit-test fakes of the domain's ports. The order store keeps DynamoDB's semantics that matter for money:
 * conditional create, writes conditional on `version`, and the lease invariant checked on every write.
 */
export class MemoryOrderStore implements OrderStore {
  readonly items = new Map<string, Order>();
  writes = 0;

  private static key(key: OrderKey): string {
    return `${key.merchant_id}\u0000${key.mch_trade_id}`;
  }

  async create(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    const problem = leaseProblem(order);
    if (problem) throw new Error(`refused write: ${problem}`);
    const existing = this.items.get(MemoryOrderStore.key(order));
    if (existing) return { created: false, existing };
    this.items.set(MemoryOrderStore.key(order), order);
    this.writes += 1;
    return { created: true };
  }

  async get(key: OrderKey): Promise<Order | undefined> {
    return this.items.get(MemoryOrderStore.key(key));
  }

  async findByTradeId(merchantId: string, tradeId: string): Promise<Order | undefined> {
    return [...this.items.values()].find((o) => o.merchant_id === merchantId && o.trade_id === tradeId);
  }

  async update(
    order: Order,
    changes: Partial<Order>,
    attempts: readonly SettlementAttempt[] = [],
  ): Promise<Order> {
    const stored = this.items.get(MemoryOrderStore.key(order));
    if (!stored || stored.version !== order.version) throw new StaleOrderError('stale');
    const next: Order = {
      ...stored,
      ...changes,
      version: stored.version + 1,
      settlement: [...stored.settlement, ...attempts],
    };
    for (const [name, value] of Object.entries(next)) if (value === undefined) delete (next as never)[name];
    const problem = leaseProblem(next);
    if (problem) throw new Error(`refused write: ${problem}`);
    this.items.set(MemoryOrderStore.key(order), next);
    this.writes += 1;
    return next;
  }

  async listDue(nowIso: string, limit: number): Promise<DueOrders> {
    const open = [...this.items.values()].filter((o) => o.settle_due_at !== undefined);
    return {
      due: open.filter((o) => (o.settle_due_at ?? '') <= nowIso).slice(0, limit),
      openCreatedAt: open.map((o) => o.created_at),
    };
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

  validateSetup(): string[] {
    return [];
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
          word: 'SUCCESS',
          proof,
        };
      case '03':
        return { kind: 'refused', errCode: 'NOTENOUGH', errMsg: 'no balance', word: 'NOTENOUGH', proof };
      case '05':
        return { kind: 'pending', word: 'SYSTEMERROR' };
      case '06':
      case '07':
        return { kind: 'unknown', word: 'TIMEOUT' };
      default:
        return { kind: 'pending', word: 'USERPAYING' };
    }
  }

  async query(_ctx: unknown, order: ChannelOrder): Promise<QueryResult> {
    this.calls.push('query');
    const trade = this.trades.get(order.out_trade_no);
    if (!trade || trade.state === 'NONE') return { kind: 'pending', word: 'ORDERNOTEXIST' };
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
          word: 'SUCCESS',
          proof,
        };
      case 'PAYERROR':
        return { kind: 'failed', errCode: 'PAYERROR', errMsg: 'cancelled', word: 'PAYERROR', proof };
      case 'REVOKED':
        return { kind: 'reversed', word: 'REVOKED', proof };
      default:
        return { kind: 'pending', word: 'USERPAYING' };
    }
  }

  async reverse(_ctx: unknown, order: ChannelOrder): Promise<ReverseResult> {
    this.calls.push('reverse');
    const trade = this.trades.get(order.out_trade_no) ?? { state: 'NONE', queries: 0, reverses: 0 };
    this.trades.set(order.out_trade_no, trade);
    trade.reverses += 1;
    if (this.outcome === '10' || (this.outcome === '09' && trade.reverses === 1)) {
      return { kind: 'retry', word: 'SYSTEMERROR recall=Y' };
    }
    trade.state = 'REVOKED';
    return { kind: 'reversed', word: 'SUCCESS', proof: this.proof() };
  }
}

export const testMerchant: Merchant = {
  merchant_id: 'M1',
  status: 0,
  pay_types: { 'wechat.micro': { channel: 'wechat', account: { appid: 'wx1', mch_id: '1900000109' } } },
  secret: { api_key: 'merchant-key-0123456789abcdef', channels: { wechat: { api_key: 'w'.repeat(32) } } },
};

/** Ports over the fakes, with a clock the test moves. */
export function memoryPorts(channel: Channel, options: { now?: number } = {}) {
  const clock = { time: options.now ?? Date.parse('2026-01-01T00:00:00.000Z') };
  const orders = new MemoryOrderStore();
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
}
