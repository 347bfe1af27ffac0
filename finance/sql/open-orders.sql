-- open-orders: every order that is not final (CREATED, PAYING, REVERSING) and every REVERSE_FAILED one
-- (the reverse kept failing: the payment may still be held; reverse it again or settle it with the channel),
-- then every refund not final (CREATED, PROCESSING: the gateway is following it) and every ABNORMAL one (the
-- channel could not return the money to the shopper: a person must act).
-- No parameters. age_seconds counts from created_at to now; stale_seconds from the last change to now.
-- entry is 'payment' or 'refund'; a refund row's state is the refund's status, its times the refund's, its
-- amount refund_fee (total_fee is NULL there).
SELECT
  merchant_id,
  mch_trade_id,
  trade_id,
  channel,
  pay_type,
  state,
  trade_state,
  fee_type,
  total_fee,
  paid_at,
  created_at,
  updated_at,
  date_diff('second', created_at, CAST(current_timestamp AS TIMESTAMP)) AS age_seconds,
  date_diff('second', updated_at, CAST(current_timestamp AS TIMESTAMP)) AS stale_seconds,
  settlement_date,
  store_id,
  device_info,
  entry,
  refund_id,
  out_refund_no,
  refund_fee,
  refund_state
FROM (
  SELECT
    merchant_id,
    mch_trade_id,
    trade_id,
    channel,
    pay_type,
    state,
    trade_state,
    fee_type,
    total_fee,
    paid_at,
    created_at,
    updated_at,
    settlement_date,
    store_id,
    device_info,
    'payment' AS entry,
    CAST(NULL AS VARCHAR) AS refund_id,
    CAST(NULL AS VARCHAR) AS out_refund_no,
    CAST(NULL AS BIGINT) AS refund_fee,
    CAST(NULL AS INTEGER) AS refund_state
  FROM orders_current
  WHERE state NOT IN ('PAID', 'FAILED', 'REVERSED', 'CLOSED')
  UNION ALL
  SELECT
    merchant_id,
    mch_trade_id,
    trade_id,
    channel,
    pay_type,
    status AS state,
    CAST(NULL AS INTEGER) AS trade_state,
    fee_type,
    CAST(NULL AS BIGINT) AS total_fee,
    CAST(NULL AS TIMESTAMP) AS paid_at,
    created_at,
    updated_at,
    settlement_date,
    store_id,
    device_info,
    'refund' AS entry,
    refund_id,
    out_refund_no,
    refund_fee,
    refund_state
  FROM refunds_current
  WHERE status IN ('CREATED', 'PROCESSING', 'ABNORMAL')
) AS open_entries
ORDER BY created_at, trade_id, refund_id NULLS FIRST
