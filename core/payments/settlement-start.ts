import type { Order } from '#core/orders/order.ts';
import type { Ports } from '#core/ports.ts';

/**
 * Starts the settlement state machine for an order. A failure to start is not the caller's problem: the
 * order keeps its lease (`settle_due_at`), and the sweep starts settlement when the lease runs out.
 * The execution name is tied to the order version, so a retried start never runs a second execution.
 */
export async function ensureSettlement(ports: Ports, order: Order): Promise<boolean> {
  try {
    await ports.workflow.startSettlement(
      { merchant_id: order.merchant_id, mch_trade_id: order.mch_trade_id, trade_id: order.trade_id },
      `${order.trade_id}-v${order.version}`,
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
