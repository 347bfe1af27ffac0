import { StaleOrderError } from '#core/errors.ts';
import type { Ports } from '#core/ports.ts';
import { callLeaseEnd, writeAndHandOver } from '#core/settlement/lease.ts';

export interface SweepReport {
  /** Open orders looked at. */
  readonly open: number;
  /** Of those, the ones whose lease had run out. */
  readonly due: number;
  /** Settlements restarted. */
  readonly started: number;
}

/**
 * Restarts settlement for every order whose lease ran out: the process that should have settled it died
 * (e.g. between the channel call and the state machine start) or its execution failed. Claiming the order
 * is a conditional write, so concurrent sweeps start one execution per order, not two, and the fencing
 * token it takes stops any older execution that is still about.
 */
export async function sweepDueOrders(ports: Ports, limit = 100): Promise<SweepReport> {
  const now = ports.clock.now();
  const { due, openCreatedAt } = await ports.orders.listDue(new Date(now).toISOString(), limit);
  ports.telemetry.openOrders(openCreatedAt.map((createdAt) => now - Date.parse(createdAt)));
  let started = 0;
  for (const key of due) {
    const order = await ports.orders.get(key);
    if (!order) continue;
    try {
      // Claimed only if its lease still ran out: a settlement or a request may have taken it meanwhile.
      const {
        order: saved,
        claimed,
        started: restarted,
      } = await writeAndHandOver(ports, order, {
        change: () => undefined,
        leaseUntil: callLeaseEnd(ports, ports.channels.get(order.channel)?.protocol, now),
      });
      if (!claimed) continue;
      const about = { merchant_id: order.merchant_id, trade_id: order.trade_id, state: order.state };
      // A parked lease is a planned wake-up (a refund's next query hours away), not a settlement that died.
      if (order.settle_parked) {
        ports.log.info('parked settlement due; starting its next step', about);
      } else {
        ports.log.warn('settlement lease expired; restarting settlement', about);
        ports.telemetry.settlementRestarted(saved);
      }
      if (restarted) started += 1;
    } catch (error) {
      if (!(error instanceof StaleOrderError)) throw error;
    }
  }
  return { open: openCreatedAt.length, due: due.length, started };
}
