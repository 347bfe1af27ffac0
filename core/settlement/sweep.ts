import { StaleOrderError } from '#core/errors.ts';
import { applyChange } from '#core/orders/changes.ts';
import { isSettled } from '#core/orders/order.ts';
import { ensureSettlement } from '#core/payments/settlement-start.ts';
import type { Ports } from '#core/ports.ts';
import { iso } from '#core/time.ts';

export interface SweepReport {
  readonly due: number;
  readonly started: number;
}

/**
 * Restarts settlement for every order whose lease ran out: the process that should have settled it died
 * (e.g. between the channel call and the state machine start) or its execution failed. Claiming the lease
 * is a conditional write, so concurrent sweeps start one execution per order, not two.
 */
export async function sweepDueOrders(ports: Ports, limit = 100): Promise<SweepReport> {
  const now = ports.clock.now();
  const due = await ports.orders.listDue(iso(now), limit);
  let started = 0;
  for (const key of due) {
    const order = await ports.orders.get(key);
    if (!order?.settle_due_at || Date.parse(order.settle_due_at) > now) continue;
    try {
      if (isSettled(order.state)) {
        await applyChange(ports.orders, order, () => ({ settle_due_at: undefined }));
        continue;
      }
      const claimed = await ports.orders.update(order, { settle_due_at: iso(now + ports.leaseGraceMs) });
      ports.log.warn('settlement lease expired; restarting settlement', {
        merchant_id: order.merchant_id,
        trade_id: order.trade_id,
        state: order.state,
      });
      if (await ensureSettlement(ports, claimed)) started += 1;
    } catch (error) {
      if (!(error instanceof StaleOrderError)) throw error;
    }
  }
  return { due: due.length, started };
}
