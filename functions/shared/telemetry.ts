import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Telemetry } from '#core/ports.ts';

/** The metrics the dashboard and alarms read (namespace `Micropay`, dimension `service` on every one). */
export const metricNames = {
  payments: 'Payments',
  settled: 'Settled',
  reverseFailed: 'ReverseFailed',
  restarts: 'SettlementRestarts',
  openOrders: 'OpenOrders',
} as const;

/** Age buckets of open orders: under a minute is normal settlement, past 30 minutes something is stuck. */
export const openOrderAges = [
  { label: 'under-1m', maxMs: 60_000 },
  { label: '1-5m', maxMs: 5 * 60_000 },
  { label: '5-30m', maxMs: 30 * 60_000 },
  { label: 'over-30m', maxMs: Number.POSITIVE_INFINITY },
] as const;

/**
 * Telemetry as CloudWatch metrics (embedded metric format, written with the function's logs): each count
 * is published at once with its own dimensions (publishing clears them), so a function that dies loses none
 * before it. One Metrics instance does it all: a new one per count (`singleMetric`) re-reads its whole
 * configuration each time, which was a twentieth of a payment's CPU.
 */
export function powertoolsTelemetry(metrics: Metrics): Telemetry {
  const count = (name: string, dimensions: Readonly<Record<string, string>>, value = 1) => {
    metrics.addDimensions(dimensions);
    metrics.addMetric(name, MetricUnit.Count, value);
    metrics.publishStoredMetrics();
  };
  return {
    paymentAnswered: (channel, outcome) => count(metricNames.payments, { channel, outcome }),
    settled: (order) => count(metricNames.settled, { channel: order.channel, state: order.state }),
    reverseFailed: () => count(metricNames.reverseFailed, {}),
    settlementRestarted: (order) => count(metricNames.restarts, { channel: order.channel }),
    openOrders: (agesMs) => {
      let lower = Number.NEGATIVE_INFINITY;
      for (const { label, maxMs } of openOrderAges) {
        const inBucket = agesMs.filter((age) => age > lower && age <= maxMs).length;
        count(metricNames.openOrders, { age: label }, inBucket);
        lower = maxMs;
      }
    },
  };
}
