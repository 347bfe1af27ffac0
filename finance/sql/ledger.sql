-- ledger: every order of one merchant whose settlement date is in a range, one row each, in time order:
-- the rows a reconciliation with the channel's statement starts from (download the result as CSV).
-- Parameters: 1. merchant_id, 2. first settlement date 'YYYY-MM-DD', 3. last settlement date (inclusive).
SELECT
  settlement_date,
  created_at,
  paid_at,
  updated_at,
  merchant_id,
  store_id,
  device_info,
  op_user_id,
  mch_trade_id,
  trade_id,
  out_trade_id,
  ch_trade_id,
  channel,
  pay_type,
  state,
  trade_state,
  fee_type,
  total_fee,
  cash_fee,
  coupon_fee,
  receipt_amount,
  liquidator_commission_fee,
  bank_commission_fee,
  pay_platform_fee,
  gateway_commission_fee,
  net_money,
  refund_noted_at,
  reverse_action,
  err_code
FROM orders_current
WHERE merchant_id = ? AND settlement_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
ORDER BY created_at, trade_id
