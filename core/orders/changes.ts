import { StaleOrderError } from '#core/errors.ts';
import {
  canTransition,
  needsSettlement,
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

/** The state `order` ends in if `changes` are applied: a transition the lifecycle refuses leaves it as it is. */
export function nextState(order: Order, changes: Partial<Order>): OrderState {
  return changes.state !== undefined && canTransition(order, changes.state) ? changes.state : order.state;
}

// Each stale try means another writer succeeded, so all make progress; enough for the 50 refunds one order may
// take arriving at once.
const maxTries = 64;

/** What `applyChange` did: the order as it now stands, and the changes it wrote (undefined when none). */
export interface Applied {
  readonly order: Order;
  readonly wrote: Partial<Order> | undefined;
}

/** A writer's decision about the latest order: what to write (undefined: nothing), and whatever else it concluded. */
export interface Decision {
  readonly write: Partial<Order> | undefined;
}

/**
 * Writes a change computed from the latest order, re-reading and recomputing when a concurrent writer got
 * there first. A state change the lifecycle refuses is dropped (an older outcome never overwrites a newer
 * state) while the rest is written, and the lease follows the resulting state: a final order drops it, a
 * non-final one keeps it (a change may move the lease, never remove it). Returns the decision that held.
 */
export async function applyDecision<D extends Decision>(
  orders: OrderStore,
  current: Order,
  decide: (order: Order) => D,
  attempts: readonly SettlementAttempt[] = [],
): Promise<Applied & { readonly decision: D }> {
  let order = current;
  for (let tries = 1; ; tries++) {
    const decision = decide(order);
    if (decision.write === undefined) return { order, wrote: undefined, decision };
    const wrote = normalized(order, decision.write);
    try {
      return { order: await orders.update(order, wrote, attempts), wrote, decision };
    } catch (error) {
      if (!(error instanceof StaleOrderError) || tries >= maxTries) throw error;
      const latest = await orders.get(order);
      if (!latest) throw error;
      order = latest;
    }
  }
}

/** `applyDecision` for a writer whose decision is only its change (undefined when there is nothing to write). */
export async function applyChange(
  orders: OrderStore,
  current: Order,
  decide: (order: Order) => Partial<Order> | undefined,
  attempts: readonly SettlementAttempt[] = [],
): Promise<Applied> {
  const { order, wrote } = await applyDecision(
    orders,
    current,
    (latest) => ({ write: decide(latest) }),
    attempts,
  );
  return { order, wrote };
}

function normalized(order: Order, changes: Partial<Order>): Partial<Order> {
  const state = nextState(order, changes);
  let result = changes;
  if (changes.state !== undefined && state !== changes.state) {
    const { state: _dropped, trade_state: _alsoDropped, ...rest } = changes;
    result = rest;
  }
  if (!needsSettlement({ state, refunds: result.refunds ?? order.refunds })) {
    if (order.settle_due_at === undefined) return result;
    return { ...result, settle_due_at: undefined, settle_parked: undefined };
  }
  if ('settle_due_at' in result && result.settle_due_at === undefined) {
    const { settle_due_at: _kept, ...rest } = result;
    return rest;
  }
  return result;
}
