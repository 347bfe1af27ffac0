import type { Order, SettlementAttempt } from '#core/orders/order.ts';
import type { RefundBinding } from '#core/ports.ts';

/** What a sweep reads of an order behind a wake-up: enough to tell whether its lease ran out. */
export type LeaseView = Pick<Order, 'merchant_id' | 'mch_trade_id' | 'settle_due_at' | 'created_at'>;

/** One wake-up: "look at the order `order_key` at the time `due` starts with". */
export interface Wakeup {
  /** The due minute and a shard (`2026-12-01T07:41#2`). */
  readonly bucket: string;
  /** `<due ISO time>#<order key>[#<create token>]`: sorts by due time. */
  readonly due: string;
  readonly order_key: string;
  /** Epoch seconds after which the table may drop it (DynamoDB's TTL). */
  readonly expires_at: number;
}

/**
 * The two tables under the order store, as the few operations it makes: DynamoDB in AWS and local mode, maps
 * in unit tests. All the store's logic (keys, the lease invariant, wake-ups, the sweep's watermark) lives in
 * `TableOrderStore` above this, so a fake of these operations behaves as the deployed store does.
 */
export interface OrderTables {
  /** Writes `order` under `key` unless the key is taken; false when it is. */
  putNewOrder(key: string, order: Order): Promise<boolean>;
  /** Writes a refund number's binding under `key` unless the key is taken; false when it is. */
  putNewBinding(key: string, binding: RefundBinding): Promise<boolean>;
  /** Deletes the binding under `key` if it is still the refund `refundId`'s. */
  deleteBinding(key: string, refundId: string): Promise<void>;
  /** The binding under `key`, read consistently. */
  getBinding(key: string): Promise<RefundBinding | undefined>;
  /** The order under `key`, read consistently. */
  getOrder(key: string): Promise<Order | undefined>;
  /**
   * Sets `changes` (an undefined value removes the field) and appends `attempts` to the settlement history, if
   * the stored `version` is `expectedVersion`; false when it is not.
   */
  updateOrder(
    key: string,
    expectedVersion: number,
    changes: Readonly<Record<string, unknown>>,
    attempts: readonly SettlementAttempt[],
  ): Promise<boolean>;
  /** The lease fields of the orders under `keys` (eventually consistent); undefined for a key with no order. */
  leasesOf(keys: readonly string[]): Promise<Map<string, LeaseView | undefined>>;
  /** Writes a wake-up (the same bucket and due time is one item). */
  putWakeup(wakeup: Wakeup): Promise<void>;
  /** Deletes a wake-up that nothing needs (its writer lost the order's creation to another). */
  deleteWakeup(wakeup: Pick<Wakeup, 'bucket' | 'due'>): Promise<void>;
  /** The order keys of the wake-ups in `bucket` whose `due` sorts after `from` and not after `to`. */
  wakeupsIn(bucket: string, from: string, to: string): Promise<string[]>;
  /** Where the sweep has got to (an ISO time), if it has run. */
  watermark(): Promise<string | undefined>;
  /** Moves the watermark to `reached` if that is further; of two concurrent sweeps, the furthest wins. */
  advanceWatermark(reached: string): Promise<void>;
}
