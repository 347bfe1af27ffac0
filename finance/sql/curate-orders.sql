-- curate-orders: one typed row per order of one DynamoDB export, for the curated table `orders`.
-- Parameters: 1. snapshot date 'YYYY-MM-DD' (the export's dt), 2. export id (its folder under AWSDynamoDB/).
-- Amounts stay integers of fen and fee fields exact decimals; times become UTC timestamps; settlement_date is
-- the merchant's local date (China Standard Time, Asia/Shanghai) of paid_at, else created_at.
-- No payment code of any form is selected. Athena runs it as INSERT INTO orders; DuckDB copies it to Parquet.
-- Only orders: the items beside them whose key carries #refund# bind a merchant's refund number to a refund
-- (adapters/tables.ts); they are not orders. The refunds themselves are in curate-refunds.sql.
SELECT
  item.merchant_id.s AS merchant_id,
  item.mch_trade_id.s AS mch_trade_id,
  item.trade_id.s AS trade_id,
  item.ch_trade_id.s AS ch_trade_id,
  item.out_trade_id.s AS out_trade_id,
  item.channel.s AS channel,
  item.pay_type.s AS pay_type,
  item.state.s AS state,
  CAST(item.trade_state.n AS INTEGER) AS trade_state,
  coalesce(item.fee_type.s, 'CNY') AS fee_type,
  CAST(item.total_fee.n AS BIGINT) AS total_fee,
  CAST(item.cash_fee.n AS BIGINT) AS cash_fee,
  CAST(item.coupon_fee.n AS BIGINT) AS coupon_fee,
  -- channel columns: the fields each channel adds (its descriptor's orderFields), written in by finance/sql.ts
  item.bank_type.s AS bank_type,
  CAST(replace(replace(item.created_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS created_at,
  CAST(replace(replace(item.updated_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS updated_at,
  CAST(replace(replace(item.paid_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS paid_at,
  TIMESTAMP '1970-01-01 00:00:00.000' + CAST(item.time_end.n AS BIGINT) * INTERVAL '1' SECOND AS time_end,
  CAST(replace(replace(item.refund_noted_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS refund_noted_at,
  CAST(
    CAST(replace(replace(coalesce(item.paid_at.s, item.created_at.s), 'T', ' '), 'Z', ' UTC') AS TIMESTAMP WITH TIME ZONE)
      AT TIME ZONE 'Asia/Shanghai'
    AS DATE
  ) AS settlement_date,
  item.store_id.s AS store_id,
  item.device_info.s AS device_info,
  item.op_user_id.s AS op_user_id,
  item.op_device_id.s AS op_device_id,
  item.body.s AS body,
  item.attach.s AS attach,
  item.err_code.s AS err_code,
  item.err_msg.s AS err_msg,
  item.reverse_action.s AS reverse_action,
  CAST(item.version.n AS BIGINT) AS version,
  dt
FROM orders_export
WHERE dt = ? AND export_id = ? AND item.order_key.s NOT LIKE '%#refund#%'
