import { ordersIndexes } from '#adapters/dynamo-orders.ts';

/**
 * The tables' keys and indexes, as plain data: the CDK constructs and the local stack build the same
 * tables from these.
 */
export const ordersTableSchema = {
  partitionKey: 'merchant_id',
  sortKey: 'mch_trade_id',
  indexes: [
    { name: ordersIndexes.byTradeId, partitionKey: 'trade_id', sortKey: undefined },
    { name: ordersIndexes.due, partitionKey: 'due_shard', sortKey: 'settle_due_at' },
  ],
} as const;

export const merchantsTableSchema = { partitionKey: 'merchant_id' } as const;
