import { StaleOrderError } from '#core/errors.ts';
import {
  canTransition,
  type Order,
  type OrderState,
  type SettlementAttempt,
  tradeStateOf,
} from '#core/orders/order.ts';
import type { OrderStore } from '#core/ports.ts';

/** The fields that move an order to `state` (trade_state follows the state, always). */
export function toState(state: OrderState): Pick<Order, 'state' | 'trade_state'> {
  return { state, trade_state: tradeStateOf[state] };
}

const maxTries = 6;

/**
 * Writes a change computed from the latest order, re-reading and recomputing when a concurrent writer
 * got there first. A state change the lifecycle does not allow from the latest state is dropped (an
 * older outcome never overwrites a newer state) while the attempt is still recorded.
 */
export async function applyChange(
  orders: OrderStore,
  current: Order,
  decide: (order: Order) => Partial<Order>,
  attempt?: SettlementAttempt,
): Promise<Order> {
  let order = current;
  for (let tries = 1; ; tries++) {
    const changes = withAllowedState(order, decide(order));
    try {
      return await orders.update(order, changes, attempt);
    } catch (error) {
      if (!(error instanceof StaleOrderError) || tries >= maxTries) throw error;
      const latest = await orders.get(order);
      if (!latest) throw error;
      order = latest;
    }
  }
}

function withAllowedState(order: Order, changes: Partial<Order>): Partial<Order> {
  if (changes.state === undefined || canTransition(order.state, changes.state)) return changes;
  const { state: _dropped, trade_state: _alsoDropped, ...rest } = changes;
  return rest;
}
