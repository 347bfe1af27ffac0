/**
 * The tables' keys, as plain data: the CDK constructs and the local stack build the same tables from these.
 * No table has a secondary index: every order lookup is by key, and the sweep finds due orders through the
 * wake-ups table, so a payment's writes cost no index writes.
 */
export const ordersTableSchema = {
  /** `<merchant_id>/<order hash>` (see `core/ids.ts`): one consistent GetItem by `mch_trade_id` or `trade_id`. */
  partitionKey: 'order_key',
} as const;

/**
 * What the key of a refund number's binding carries (`<merchant_id>#refund#<hash>`), beside the orders in their
 * table: finance reads only items that are orders, and IAM lets the API delete only these keys.
 */
export const refundBindingMark = '#refund#';

/**
 * Settlement wake-ups: "look at this order at this time". Partition `bucket` = the due minute and a shard,
 * sort key `due` = due time and order key; items expire by TTL (`expires_at`), which DynamoDB deletes free.
 */
export const wakeupsTableSchema = {
  partitionKey: 'bucket',
  sortKey: 'due',
  timeToLiveAttribute: 'expires_at',
} as const;

export const merchantsTableSchema = { partitionKey: 'merchant_id' } as const;
