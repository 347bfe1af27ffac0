-- reconcile: every payment and refund of one settlement day, on either side, in one class (SPEC section 9).
-- Parameters: the settlement day 'YYYY-MM-DD' (the channels' statement day, UTC+8), once for each of the seven
-- markers. Athena takes parameters in WHERE clauses only, so the day is compared where it is used, and comparing
-- the partition column bill_date with it lets Athena read the partitions of the day and the day before, no other.
-- finance/sql.ts `reconcileParameters` gives the list.
-- Reads statement_rows (the channels' statements, one row per payment or refund, amounts in fen),
-- statement_accounts (which merchants' routes each fetched statement covers) and the latest snapshot of the
-- orders and refunds. Matched on the numbers the channel knows (our trade_id as out_trade_no, our refund_id as
-- its refund number). The channel's day of a row is its statement's; ours is the UTC+8 day of the channel's own
-- time (time_end, refund_time), else of when we recorded it, so an order created 23:59:58 and paid 00:00:03
-- belongs to the next day on both sides. Statements of the day before are read too: a row listed then was
-- classed then. UTC+8 has no daylight saving: adding 8 hours is the same in both engines. The day before is
-- computed as a DATE and written back as text the same way in both engines (DuckDB's DATE - INTERVAL is a
-- TIMESTAMP, Athena's a DATE).
WITH covered AS (
  SELECT DISTINCT a.channel, a.merchant_id
  FROM statement_accounts a
  WHERE a.bill_date = ? AND a.status = 'fetched'
),
account_merchant AS (
  SELECT a.channel, a.account, min(a.merchant_id) AS merchant_id
  FROM statement_accounts a
  WHERE a.bill_date BETWEEN CAST(CAST(CAST(? AS DATE) - INTERVAL '1' DAY AS DATE) AS VARCHAR) AND ?
  GROUP BY a.channel, a.account
),
channel_side AS (
  SELECT
    s.channel,
    s.account,
    s.kind,
    s.out_trade_no,
    coalesce(s.out_refund_no, '') AS refund_key,
    CAST(s.fee AS BIGINT) AS fee,
    s.state,
    s.channel_state,
    CAST(s.bill_date AS DATE) AS bill_date
  FROM statement_rows s
  WHERE s.bill_date BETWEEN CAST(CAST(CAST(? AS DATE) - INTERVAL '1' DAY AS DATE) AS VARCHAR) AND ?
),
local_side AS (
  SELECT
    o.channel,
    o.merchant_id,
    o.trade_id,
    o.mch_trade_id,
    'pay' AS kind,
    CAST(NULL AS VARCHAR) AS refund_id,
    CAST(NULL AS VARCHAR) AS out_refund_no,
    '' AS refund_key,
    o.total_fee AS fee,
    CASE o.state
      WHEN 'PAID' THEN 'paid'
      WHEN 'REVERSED' THEN 'reversed'
      WHEN 'REVERSE_FAILED' THEN 'reverse_failed'
      WHEN 'FAILED' THEN 'failed'
      WHEN 'CLOSED' THEN 'closed'
      ELSE 'open'
    END AS state,
    CAST(coalesce(o.time_end, o.paid_at, o.created_at) + INTERVAL '8' HOUR AS DATE) AS bill_date
  FROM orders_current o
  JOIN covered c ON c.channel = o.channel AND c.merchant_id = o.merchant_id
  UNION ALL
  SELECT
    r.channel,
    r.merchant_id,
    r.trade_id,
    r.mch_trade_id,
    'refund' AS kind,
    r.refund_id,
    r.out_refund_no,
    r.refund_id AS refund_key,
    r.refund_fee AS fee,
    CASE r.status
      WHEN 'REFUNDED' THEN 'refunded'
      WHEN 'FAILED' THEN 'refund_failed'
      WHEN 'ABNORMAL' THEN 'refund_abnormal'
      ELSE 'refund_processing'
    END AS state,
    CAST(coalesce(r.refund_time, r.refunded_at, r.created_at) + INTERVAL '8' HOUR AS DATE) AS bill_date
  FROM refunds_current r
  JOIN covered c ON c.channel = r.channel AND c.merchant_id = r.merchant_id
),
joined AS (
  SELECT
    coalesce(l.channel, s.channel) AS channel,
    coalesce(l.merchant_id, m.merchant_id) AS merchant_id,
    l.trade_id,
    l.mch_trade_id,
    coalesce(s.out_trade_no, l.trade_id) AS out_trade_no,
    coalesce(l.refund_id, nullif(s.refund_key, '')) AS refund_id,
    l.out_refund_no,
    coalesce(l.kind, s.kind) AS kind,
    l.fee AS local_fee,
    s.fee AS channel_fee,
    l.state AS local_state,
    s.state AS channel_state,
    s.channel_state AS channel_word,
    l.bill_date AS local_date,
    s.bill_date AS channel_date,
    l.kind IS NOT NULL AS on_local,
    s.kind IS NOT NULL AS on_channel
  FROM local_side l
  FULL OUTER JOIN channel_side s
    ON s.channel = l.channel AND s.kind = l.kind AND s.out_trade_no = l.trade_id AND s.refund_key = l.refund_key
  LEFT JOIN account_merchant m ON m.channel = s.channel AND m.account = s.account
)
SELECT
  CASE
    WHEN NOT on_channel THEN 'missing_channel'
    WHEN NOT on_local THEN 'missing_local'
    WHEN local_fee <> channel_fee THEN 'amount_mismatch'
    WHEN local_state <> channel_state THEN 'state_mismatch'
    ELSE 'matched'
  END AS class,
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
  coalesce(channel_state, channel_word) AS channel_state
FROM joined
WHERE channel_date = CAST(? AS DATE)
  -- Ours alone on the day: only what the channel must list (money taken or given back) is missing there.
  OR (NOT on_channel AND local_date = CAST(? AS DATE) AND local_state IN ('paid', 'refunded'))
ORDER BY class, channel, out_trade_no, refund_id
