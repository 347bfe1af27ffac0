-- reconciliation-discrepancies: the reconciliation discrepancies of a day, every row that needs a person.
-- Parameter: the settlement day 'YYYY-MM-DD' (UTC+8). Reads the discrepancies table, which each reconciliation run
-- fills from finance/sql/reconcile.sql for its day; every class but matched is money at risk (SPEC section 9).
SELECT
  class,
  channel,
  merchant_id,
  trade_id,
  mch_trade_id,
  out_trade_no,
  refund_id,
  out_refund_no,
  kind,
  local_fee,
  channel_fee,
  local_state,
  channel_state
FROM discrepancies
WHERE bill_date = ? AND class <> 'matched'
ORDER BY class, channel, out_trade_no, refund_id
