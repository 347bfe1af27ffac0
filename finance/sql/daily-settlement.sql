-- daily-settlement: one settlement date, per merchant, channel, pay type and currency (fee_type).
-- Parameter: 1. settlement date 'YYYY-MM-DD' (the merchant's local date, China Standard Time).
-- paid_*: PAID orders (a refund the channel reported later, trade_state 1, stays paid and is counted in
-- refunded_*). reversed_*: REVERSED orders; reversed_paid_fen is the part whose money was taken and returned.
-- open_*: not final yet or REVERSE_FAILED (money may be held: an operator must act): the day is not closed.
-- fee_yuan and net_yuan sum what the channel reports for paid orders (fshows), NULL where it reports nothing.
-- refund_*: refunds (table refunds) counted on the day they succeeded (refunded_at's local date), whatever day
-- their order was paid; net_fen = paid_fen - refund_fen. refund_open_*: refunds recorded that day and not final
-- yet (they count on the day they succeed); refund_abnormal_*: ABNORMAL refunds recorded that day (a person must
-- act; not refunded). A refund row has no order state, an order row no refund status: each sum reads its own.
WITH entries AS (
  SELECT
    settlement_date,
    merchant_id,
    channel,
    pay_type,
    fee_type,
    state,
    total_fee,
    paid_at,
    refund_noted_at,
    liquidator_commission_fee,
    bank_commission_fee,
    pay_platform_fee,
    gateway_commission_fee,
    net_money,
    CAST(NULL AS VARCHAR) AS refund_status,
    CAST(NULL AS BIGINT) AS refund_fee
  FROM orders_current
  UNION ALL
  SELECT
    settlement_date,
    merchant_id,
    channel,
    pay_type,
    fee_type,
    CAST(NULL AS VARCHAR) AS state,
    CAST(NULL AS BIGINT) AS total_fee,
    CAST(NULL AS TIMESTAMP) AS paid_at,
    CAST(NULL AS TIMESTAMP) AS refund_noted_at,
    CAST(NULL AS DECIMAL(20, 8)) AS liquidator_commission_fee,
    CAST(NULL AS DECIMAL(20, 8)) AS bank_commission_fee,
    CAST(NULL AS DECIMAL(20, 8)) AS pay_platform_fee,
    CAST(NULL AS DECIMAL(20, 8)) AS gateway_commission_fee,
    CAST(NULL AS DECIMAL(20, 8)) AS net_money,
    status AS refund_status,
    refund_fee
  FROM refunds_current
)
SELECT
  settlement_date,
  merchant_id,
  channel,
  pay_type,
  fee_type,
  count(CASE WHEN state = 'PAID' THEN 1 END) AS paid_count,
  coalesce(sum(CASE WHEN state = 'PAID' THEN total_fee END), 0) AS paid_fen,
  count(CASE WHEN state = 'REVERSED' THEN 1 END) AS reversed_count,
  coalesce(sum(CASE WHEN state = 'REVERSED' THEN total_fee END), 0) AS reversed_fen,
  coalesce(sum(CASE WHEN state = 'REVERSED' AND paid_at IS NOT NULL THEN total_fee END), 0) AS reversed_paid_fen,
  count(CASE WHEN state = 'PAID' AND refund_noted_at IS NOT NULL THEN 1 END) AS refunded_count,
  coalesce(sum(CASE WHEN state = 'PAID' AND refund_noted_at IS NOT NULL THEN total_fee END), 0) AS refunded_fen,
  count(CASE WHEN state NOT IN ('PAID', 'FAILED', 'REVERSED', 'CLOSED') THEN 1 END) AS open_count,
  coalesce(sum(CASE WHEN state NOT IN ('PAID', 'FAILED', 'REVERSED', 'CLOSED') THEN total_fee END), 0) AS open_fen,
  sum(
    CASE
      WHEN state = 'PAID' AND coalesce(
        liquidator_commission_fee, bank_commission_fee, pay_platform_fee, gateway_commission_fee
      ) IS NOT NULL
      THEN coalesce(liquidator_commission_fee, 0) + coalesce(bank_commission_fee, 0)
        + coalesce(pay_platform_fee, 0) + coalesce(gateway_commission_fee, 0)
    END
  ) AS fee_yuan,
  sum(CASE WHEN state = 'PAID' THEN net_money END) AS net_yuan,
  count(CASE WHEN refund_status = 'REFUNDED' THEN 1 END) AS refund_count,
  coalesce(sum(CASE WHEN refund_status = 'REFUNDED' THEN refund_fee END), 0) AS refund_fen,
  coalesce(sum(CASE WHEN state = 'PAID' THEN total_fee END), 0)
    - coalesce(sum(CASE WHEN refund_status = 'REFUNDED' THEN refund_fee END), 0) AS net_fen,
  count(CASE WHEN refund_status IN ('CREATED', 'PROCESSING') THEN 1 END) AS refund_open_count,
  coalesce(sum(CASE WHEN refund_status IN ('CREATED', 'PROCESSING') THEN refund_fee END), 0) AS refund_open_fen,
  count(CASE WHEN refund_status = 'ABNORMAL' THEN 1 END) AS refund_abnormal_count,
  coalesce(sum(CASE WHEN refund_status = 'ABNORMAL' THEN refund_fee END), 0) AS refund_abnormal_fen
FROM entries
WHERE settlement_date = CAST(? AS DATE)
GROUP BY settlement_date, merchant_id, channel, pay_type, fee_type
ORDER BY merchant_id, channel, pay_type, fee_type
