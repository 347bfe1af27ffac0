import type { SettlementProtocol } from '#core/channels/channel.ts';
import { applyDecision, nextState } from '#core/orders/changes.ts';
import { needsSettlement, type Order, type SettlementAttempt } from '#core/orders/order.ts';
import type { Ports } from '#core/ports.ts';
import { iso, scaled } from '#core/time.ts';

/**
 * The settlement lease: who settles an open order, and until when. An open order always holds one
 * (`settle_due_at`, with `settle_seq` as its fencing token; the store writes the sweep's wake-up beside it);
 * a final order holds none. Every writer takes, keeps, moves or drops it through this module.
 */

type LeasePorts = Pick<Ports, 'deadlineScale' | 'leaseGraceMs'>;

/** Whether something settles `order` right now: a settlement execution, or the submit whose pay call is in flight. */
export function hasLiveOwner(order: Order, now: number): boolean {
  // A final order holds no lease (the stores refuse one): no date, no owner.
  return Date.parse(order.settle_due_at ?? '') > now;
}

/**
 * When a lease over one channel call made at `from` runs out: the call's deadline, then the grace the sweep
 * leaves before it takes over. Every lease that covers a query or reverse call is this one.
 */
export function callLeaseEnd(
  ports: LeasePorts,
  protocol: Pick<SettlementProtocol, 'callDeadlineMs'> | undefined,
  from: number,
): number {
  return from + scaled(protocol?.callDeadlineMs ?? 0, ports.deadlineScale) + ports.leaseGraceMs;
}

/**
 * When the submit's lease over a pay call made at `from` runs out: the pay deadline, then the grace. The submit
 * writes it; settlement reads it back for an order whose pay was never recorded (by then that call had ended).
 */
export function payLeaseEnd(ports: LeasePorts, protocol: SettlementProtocol, from: number): number {
  return from + scaled(protocol.payDeadlineMs, ports.deadlineScale) + ports.leaseGraceMs;
}

/** The lease over a channel call due at `at`, as the change that moves it there. */
export function leaseOverCallAt(
  ports: LeasePorts,
  protocol: Pick<SettlementProtocol, 'callDeadlineMs'>,
  at: number,
): Pick<Order, 'settle_due_at'> {
  return { settle_due_at: iso(callLeaseEnd(ports, protocol, at)) };
}

/** Whether the lease `order` holds already covers a channel call due at `at` (so it need not move). */
export function leaseCovers(ports: LeasePorts, order: Order, at: number): boolean {
  return order.settle_due_at !== undefined && Date.parse(order.settle_due_at) >= at + ports.leaseGraceMs;
}

/**
 * The changes that claim `order` for a new settlement: the next fencing token and a lease until `leaseUntil`.
 * Written conditionally on the order's version, so of all the writers that try, one claims it; that one
 * (and only it) starts the execution, and any older execution stops at its next step.
 */
export function claim(
  order: Order,
  leaseUntil: number,
): Pick<Order, 'settle_seq' | 'settle_due_at' | 'settle_parked'> {
  return {
    settle_seq: (order.settle_seq ?? 0) + 1,
    settle_due_at: iso(leaseUntil),
    ...(order.settle_parked ? { settle_parked: undefined } : {}),
  };
}

/** The changes by which the settlement holding `seq` takes the next token before a channel call. */
export function renew(
  order: Order,
  seq: number,
  leaseUntil: number,
): Pick<Order, 'settle_seq' | 'settle_due_at' | 'settle_parked'> | undefined {
  if ((order.settle_seq ?? 0) !== seq) throw new Superseded();
  return needsSettlement(order) ? claim(order, leaseUntil) : undefined;
}

/** Another settlement claimed the order (a newer fencing token): the one that holds the older stops. */
export class Superseded extends Error {
  override name = 'Superseded';
}

export interface HandOver {
  /** The change this writer makes, given the latest order; undefined when it has none of its own. */
  readonly change: (latest: Order) => Partial<Order> | undefined;
  /** Until when the claim's lease runs, if this write claims the order. */
  readonly leaseUntil: number;
  /** The token the writer itself holds a live lease under (the submit's 0 during its pay call). */
  readonly heldToken?: number;
  readonly attempts?: readonly SettlementAttempt[];
}

/**
 * Writes a change and leaves the order owned: when it stays open and no one else holds a live lease, the
 * same conditional write claims it and this writer starts its settlement. A live owner picks the change up
 * at its next step. Submit, reverse and the sweep all hand over this way.
 */
export async function writeAndHandOver(
  ports: Ports,
  order: Order,
  handOver: HandOver,
): Promise<{ readonly order: Order; readonly claimed: boolean; readonly started: boolean }> {
  const { order: saved, claimed } = await writeAndClaim(ports, order, handOver);
  const started = claimed && (await startSettlement(ports, saved));
  return { order: saved, claimed, started };
}

/**
 * `writeAndHandOver` without the start: a writer that claims the order to make a channel call itself (a
 * refund's first call) and hands over after it. If it dies meanwhile, the lease runs out and the sweep starts
 * the settlement that finishes the work.
 */
export async function writeAndClaim(
  ports: Ports,
  order: Order,
  handOver: HandOver,
): Promise<{ readonly order: Order; readonly claimed: boolean }> {
  const now = ports.clock.now();
  const { order: saved, decision } = await applyDecision(
    ports.orders,
    order,
    (latest) => {
      const changes = handOver.change(latest) ?? {};
      const ownedByAnother = hasLiveOwner(latest, now) && (latest.settle_seq ?? 0) !== handOver.heldToken;
      const after = { state: nextState(latest, changes), refunds: changes.refunds ?? latest.refunds };
      const claims = needsSettlement(after) && !ownedByAnother;
      const write = claims ? { ...changes, ...claim(latest, handOver.leaseUntil) } : changes;
      return { write: Object.keys(write).length > 0 ? write : undefined, claims };
    },
    handOver.attempts,
  );
  // A decision that claims always writes: the claim is in its write.
  return { order: saved, claimed: decision.claims };
}

/**
 * Starts the settlement execution of the claim `order` carries. Its name is derived from the order and the
 * fencing token, so a retried start never runs a second execution. A failure to start is not the caller's
 * problem: the order keeps its lease, and the sweep claims it again when the lease runs out.
 */
export async function startSettlement(ports: Ports, order: Order): Promise<boolean> {
  const seq = order.settle_seq ?? 0;
  try {
    await ports.workflow.startSettlement(
      { merchant_id: order.merchant_id, mch_trade_id: order.mch_trade_id, trade_id: order.trade_id, seq },
      `${order.trade_id}-${seq}`,
    );
    return true;
  } catch (error) {
    ports.log.warn('settlement not started; the sweep will start it', {
      trade_id: order.trade_id,
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}
