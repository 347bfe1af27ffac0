import type { SettlementProtocol } from '#core/channels/channel.ts';
import type { Order } from '#core/orders/order.ts';
import type { Ports } from '#core/ports.ts';
import { iso, scaled } from '#core/time.ts';

/**
 * Whether something is settling `order` right now: a settlement execution, or the submit whose pay call is in
 * flight. Either holds an unexpired lease; a final order has no owner.
 */
export function hasLiveOwner(order: Order, now: number): boolean {
  // A final order holds no lease (the stores refuse one): no date, no owner.
  return Date.parse(order.settle_due_at ?? '') > now;
}

/**
 * When a lease over one channel call made at `from` runs out: the call's deadline, then the grace the sweep
 * leaves before it takes over. Every lease that covers a query or reverse call is this one.
 */
export function callLeaseEnd(
  ports: Pick<Ports, 'deadlineScale' | 'leaseGraceMs'>,
  protocol: SettlementProtocol | undefined,
  from: number,
): number {
  return from + scaled(protocol?.callDeadlineMs ?? 0, ports.deadlineScale) + ports.leaseGraceMs;
}

/**
 * When the submit's lease over a pay call made at `from` runs out: the pay deadline, then the grace. The submit
 * writes it; settlement reads it back for an order whose pay was never recorded (by then that call had ended).
 */
export function payLeaseEnd(
  ports: Pick<Ports, 'deadlineScale' | 'leaseGraceMs'>,
  protocol: SettlementProtocol,
  from: number,
): number {
  return from + scaled(protocol.payDeadlineMs, ports.deadlineScale) + ports.leaseGraceMs;
}

/**
 * The changes that claim `order` for a new settlement: the next fencing token and a lease until `leaseUntil`.
 * Written conditionally on the order's version, so of all the writers that try, one claims it; that one
 * (and only it) starts the execution, and any older execution stops at its next step.
 */
export function claim(order: Order, leaseUntil: number): Pick<Order, 'settle_seq' | 'settle_due_at'> {
  return { settle_seq: (order.settle_seq ?? 0) + 1, settle_due_at: iso(leaseUntil) };
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
