-- reconciliation-totals: per channel and class, the count and the amount of one day's discrepancies.
-- Parameter: the settlement day 'YYYY-MM-DD' (UTC+8). Every class but matched. The amount is the money at risk in
-- fen: the difference of the two amounts for amount_mismatch, else the row's amount (the channel's where it lists
-- the row, else ours). The reconciliation run publishes these as metrics (ReconciliationDiscrepancies,
-- ReconciliationDiscrepancyFen), which alarm.
SELECT
  channel,
  class,
  count(*) AS discrepancies,
  sum(
    CASE
      WHEN class = 'amount_mismatch' THEN abs(channel_fee - local_fee)
      ELSE coalesce(channel_fee, local_fee, 0)
    END
  ) AS fen
FROM discrepancies
WHERE bill_date = ? AND class <> 'matched'
GROUP BY channel, class
ORDER BY channel, class
