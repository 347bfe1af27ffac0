-- daily-settlement: one settlement date, per merchant, channel, pay type and currency (fee_type).
-- Parameter: 1. settlement date 'YYYY-MM-DD' (the merchant's local date, China Standard Time).
-- paid_*: PAID orders (a refund the channel reported later, trade_state 1, stays paid and is counted in
-- refunded_*). reversed_*: REVERSED orders; reversed_paid_fen is the part whose money was taken and returned.
-- open_*: not final yet or REVERSE_FAILED (money may be held: an operator must act): the day is not closed.
-- fee_yuan and net_yuan sum what the channel reports for paid orders (fshows), NULL where it reports nothing.
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
  sum(CASE WHEN state = 'PAID' THEN net_money END) AS net_yuan
FROM orders_current
WHERE settlement_date = CAST(? AS DATE)
GROUP BY settlement_date, merchant_id, channel, pay_type, fee_type
ORDER BY merchant_id, channel, pay_type, fee_type
