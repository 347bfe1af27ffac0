-- open-orders: every order that is not final (CREATED, PAYING, REVERSING) and every REVERSE_FAILED one
-- (the reverse kept failing: the payment may still be held; reverse it again or settle it with the channel).
-- No parameters. age_seconds counts from created_at to now; stale_seconds from the last change to now.
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
  device_info
FROM orders_current
WHERE state NOT IN ('PAID', 'FAILED', 'REVERSED', 'CLOSED')
ORDER BY created_at, trade_id
