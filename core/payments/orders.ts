import type { RefundProtocol } from '#core/channels/channel.ts';
import { ApiCode, ApiError } from '#core/errors.ts';
import { toState } from '#core/orders/changes.ts';
import type { Order } from '#core/orders/order.ts';
import type { Ports } from '#core/ports.ts';
import { callLeaseEnd, writeAndHandOver } from '#core/settlement/lease.ts';

/** Which order of a merchant: by `trade_id` or `mch_trade_id`. */
export interface OrderLookup {
  readonly merchant_id: string;
  readonly trade_id?: string;
  readonly mch_trade_id?: string;
}

/** One order of the merchant, by `trade_id` (wins when both are given) or `mch_trade_id`. */
export async function findOrder(ports: Ports, request: OrderLookup): Promise<Order> {
  const order =
    request.trade_id !== undefined
      ? await ports.orders.findByTradeId(request.merchant_id, request.trade_id)
      : await ports.orders.get({
          merchant_id: request.merchant_id,
          mch_trade_id: request.mch_trade_id ?? '',
        });
  if (!order) throw new ApiError(ApiCode.orderNotFound, 'order does not exist');
  return order;
}

/**
 * Cancels an order (撤销): closes it if unpaid, returns the money if paid. The reverse itself is carried out
 * by settlement, which respects the channel's rules (not before 15 s after pay, repeat while asked). A
 * settlement (or the submit whose pay call is in flight) that already owns the order picks the reverse up
 * at its next step; otherwise this request claims the order and starts one. Concurrent requests write
 * once and start one settlement between them. The answer is the order as it is after this request.
 */
export async function reverseOrder(ports: Ports, order: Order): Promise<Order> {
  const channel = ports.channels.get(order.channel);
  const protocol = channel?.protocol;
  const { order: saved } = await writeAndHandOver(ports, order, {
    change: (latest) => {
      if (latest.state === 'FAILED' || latest.state === 'CLOSED') {
        throw new ApiError(
          ApiCode.orderStateConflict,
          `order is ${latest.state === 'FAILED' ? 'failed' : 'closed'}; there is nothing to reverse`,
        );
      }
      if (latest.state === 'PAID') checkReversible(latest, channel?.refunds?.protocol, ports.clock.now());
      return latest.state === 'REVERSED' || latest.state === 'REVERSING' ? undefined : toState('REVERSING');
    },
    leaseUntil: callLeaseEnd(ports, protocol, ports.clock.now()),
  });
  return saved;
}

/**
 * A paid order is reversed only while its channel still takes a reverse for it (WeChat: 7 days; Alipay: the
 * day of payment) and only if nothing of it was refunded; after that, money goes back by `/v1/refund`.
 */
function checkReversible(order: Order, refunds: RefundProtocol | undefined, now: number): void {
  if ((order.refunds ?? []).length > 0) {
    throw new ApiError(ApiCode.orderStateConflict, 'order has refunds; return more of it with /v1/refund');
  }
  const paidAt = Date.parse(order.paid_at ?? order.created_at);
  const until = refunds?.reverseUntil?.(paidAt);
  if (until !== undefined && now > until) {
    throw new ApiError(
      ApiCode.orderStateConflict,
      'order is past the time its channel takes a reverse; give the money back with /v1/refund',
    );
  }
}
