import type { OrderRequest } from '#core/api/requests.ts';
import { ApiCode, GatewayError } from '#core/errors.ts';
import { applyChange, toState } from '#core/orders/changes.ts';
import type { Order } from '#core/orders/order.ts';
import { ensureSettlement } from '#core/payments/settlement-start.ts';
import type { Ports } from '#core/ports.ts';
import { iso, scaled } from '#core/time.ts';

/** One order of the merchant, by `trade_id` (wins when both are given) or `mch_trade_id`. */
export async function findOrder(ports: Ports, request: OrderRequest): Promise<Order> {
  const order =
    request.trade_id !== undefined
      ? await ports.orders.findByTradeId(request.merchant_id, request.trade_id)
      : await ports.orders.get({
          merchant_id: request.merchant_id,
          mch_trade_id: request.mch_trade_id ?? '',
        });
  if (!order) throw new GatewayError(ApiCode.orderNotFound, 'order does not exist');
  return order;
}

/**
 * Cancels an order (撤销): closes it if unpaid, returns the money if paid. The reverse itself is carried out
 * by settlement, which respects the channel's rules (not before 15 s after pay, repeat while asked).
 */
export async function reverseOrder(ports: Ports, order: Order): Promise<Order> {
  if (order.state === 'REVERSED' || order.state === 'REVERSING') return order;
  if (order.state === 'FAILED' || order.state === 'CLOSED') {
    throw new GatewayError(
      ApiCode.orderStateConflict,
      `order is ${order.state === 'FAILED' ? 'failed' : 'closed'}; there is nothing to reverse`,
    );
  }
  const channel = ports.channels.get(order.channel);
  const now = ports.clock.now();
  const notBefore =
    Date.parse(order.created_at) + scaled(channel?.protocol.reverseNotBeforeMs ?? 0, ports.timeScale);
  const saved = await applyChange(ports.orders, order, () => ({
    ...toState('REVERSING'),
    settle_due_at: iso(Math.max(now, notBefore) + ports.leaseGraceMs),
  }));
  if (saved.state !== 'REVERSING') {
    // The order moved on meanwhile (e.g. it failed); answer from its latest state.
    return saved.state === order.state ? saved : reverseOrder(ports, saved);
  }
  // An order still being paid has a settlement (or the submit in flight will start one) that will now
  // reverse it; a paid order or one whose reverse had failed needs a new one.
  if (order.state === 'PAID' || order.state === 'REVERSE_FAILED') await ensureSettlement(ports, saved);
  return saved;
}
