import type { RefundProtocol } from '#core/channels/channel.ts';
import type { Order } from '#core/orders/order.ts';
import { isFinalRefund, type Refund } from '#core/refunds/refund.ts';
import { iso } from '#core/time.ts';

/**
 * When a refund's next channel call is due, from its own history and the channel's refund table: at once if it
 * was never sent; after no answer or a retry answer, the next resend delay after the last call; once accepted,
 * the next query delay after the last call. `waitMs` scales a protocol duration (the time scale).
 */
export function refundCallDue(
  refund: Refund,
  protocol: RefundProtocol,
  now: number,
  waitMs: (ms: number) => number,
): number {
  const last = refund.attempts.at(-1);
  if (!last) return now;
  const nth = (delays: readonly number[], index: number) =>
    delays[Math.min(index, delays.length - 1)] as number;
  const sends = refund.attempts.filter((a) => a.action === 'refund').length;
  const queries = refund.attempts.filter((a) => a.action === 'refund_query').length;
  const delay =
    refund.status === 'CREATED'
      ? nth(protocol.resendDelaysMs, Math.max(0, sends - 1))
      : nth(protocol.queryDelaysMs, queries);
  return Math.max(now, Date.parse(last.at) + waitMs(delay));
}

/** The refund, marked overdue if it has been followed longer than the channel's table says it may take. */
export function withOverdueNoted(
  refund: Refund,
  protocol: RefundProtocol,
  now: number,
  waitMs: (ms: number) => number,
): Refund {
  if (isFinalRefund(refund.status) || refund.overdue_noted_at !== undefined) return refund;
  const overdue = now - Date.parse(refund.created_at) >= waitMs(protocol.overdueAfterMs);
  return overdue ? { ...refund, overdue_noted_at: iso(now) } : refund;
}

/** What a write did to the order's refunds: the ones it made final, and the ones it noted overdue. */
export function refundEvents(
  before: Pick<Order, 'refunds'>,
  after: Pick<Order, 'refunds'>,
): { readonly settled: readonly Refund[]; readonly overdue: readonly Refund[] } {
  const was = new Map((before.refunds ?? []).map((r) => [r.refund_id, r]));
  const settled: Refund[] = [];
  const overdue: Refund[] = [];
  for (const refund of after.refunds ?? []) {
    const old = was.get(refund.refund_id);
    if (isFinalRefund(refund.status) && !(old && isFinalRefund(old.status))) settled.push(refund);
    if (refund.overdue_noted_at !== undefined && old?.overdue_noted_at === undefined) overdue.push(refund);
  }
  return { settled, overdue };
}
