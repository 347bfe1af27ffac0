-- curate-refunds: one typed row per refund of one DynamoDB export, for the curated table `refunds`: each order's
-- `refunds` list (SPEC section 8), unnested, with the order's ids, channel and amount beside each refund.
-- Parameters: 1. snapshot date 'YYYY-MM-DD' (the export's dt), 2. export id (its folder under AWSDynamoDB/).
-- Amounts stay integers of fen; times become UTC timestamps; settlement_date is the merchant's local date (China
-- Standard Time, Asia/Shanghai) of refunded_at (the day it succeeded), else of created_at. refund_state is the
-- merchant API's (0 refunded, 1 processing, 2 failed, 3 abnormal). Athena runs it as INSERT INTO refunds; DuckDB
-- copies it to Parquet.
-- The same text runs in both engines: UNNEST of an array of rows gives one column per row field in Athena
-- (Trino) and one struct column in DuckDB, so the element it gives is never read. Its ordinal n (WITH
-- ORDINALITY, 1-based in both) indexes the list instead: item.refunds.l[n].m is the refund's map in both.
SELECT
  item.merchant_id.s AS merchant_id,
  item.mch_trade_id.s AS mch_trade_id,
  item.trade_id.s AS trade_id,
  item.ch_trade_id.s AS ch_trade_id,
  item.out_trade_id.s AS out_trade_id,
  item.channel.s AS channel,
  item.pay_type.s AS pay_type,
  coalesce(item.fee_type.s, 'CNY') AS fee_type,
  refund.refund_id.s AS refund_id,
  refund.out_refund_no.s AS out_refund_no,
  refund.ch_refund_id.s AS ch_refund_id,
  refund.status.s AS status,
  CAST(
    CASE refund.status.s
      WHEN 'REFUNDED' THEN 0
      WHEN 'CREATED' THEN 1
      WHEN 'PROCESSING' THEN 1
      WHEN 'FAILED' THEN 2
      WHEN 'ABNORMAL' THEN 3
    END
    AS INTEGER
  ) AS refund_state,
  CAST(refund.refund_fee.n AS BIGINT) AS refund_fee,
  CAST(item.total_fee.n AS BIGINT) AS total_fee,
  refund.refund_desc.s AS refund_desc,
  refund.op_user_id.s AS op_user_id,
  item.store_id.s AS store_id,
  item.device_info.s AS device_info,
  refund.err_code.s AS err_code,
  refund.err_msg.s AS err_msg,
  CAST(replace(replace(refund.created_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS created_at,
  CAST(replace(replace(refund.updated_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS updated_at,
  CAST(replace(replace(refund.refunded_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS refunded_at,
  TIMESTAMP '1970-01-01 00:00:00.000' + CAST(refund.refund_time.n AS BIGINT) * INTERVAL '1' SECOND AS refund_time,
  CAST(replace(replace(item.paid_at.s, 'T', ' '), 'Z', '') AS TIMESTAMP) AS paid_at,
  CAST(
    CAST(replace(replace(coalesce(refund.refunded_at.s, refund.created_at.s), 'T', ' '), 'Z', ' UTC') AS TIMESTAMP WITH TIME ZONE)
      AT TIME ZONE 'Asia/Shanghai'
    AS DATE
  ) AS settlement_date,
  dt
FROM (
  SELECT item, dt, item.refunds.l[n].m AS refund
  FROM orders_export
  CROSS JOIN UNNEST(item.refunds.l) WITH ORDINALITY AS listed (element, n)
  WHERE dt = ? AND export_id = ?
) AS exported
