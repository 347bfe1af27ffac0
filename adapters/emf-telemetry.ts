import type { Telemetry } from '#core/ports.ts';
import type { ReconciliationTelemetry } from '#core/reconciliation/run.ts';

/** Where every metric goes; the dashboard and alarms (`lib/monitoring.ts`) read the same names. */
export const metricNamespace = 'Micropay';
/** Every metric's first dimension, `service`, has this value. */
export const metricService = 'micropay';

export const metricNames = {
  payments: 'Payments',
  settled: 'Settled',
  reverseFailed: 'ReverseFailed',
  restarts: 'SettlementRestarts',
  openOrders: 'OpenOrders',
  refundCalls: 'RefundCalls',
  refunds: 'Refunds',
  refundAbnormal: 'RefundAbnormal',
  refundOverdue: 'RefundOverdue',
  refundCallFailed: 'RefundCallFailed',
  /** Rows of a day's reconciliation that need a person, by channel and class (and by class alone). */
  reconciliationDiscrepancies: 'ReconciliationDiscrepancies',
  /** The fen those rows put at risk, by channel and class (and by class alone). */
  reconciliationDiscrepancyFen: 'ReconciliationDiscrepancyFen',
  /** Accounts whose statement the channel had still not published after the run's day of retries. */
  statementNotPublished: 'StatementNotPublished',
  /** Accounts whose statement could not be fetched (no answer, an error) after the run's retries. */
  statementNotFetched: 'StatementNotFetched',
} as const;

/** Age buckets of open orders: under a minute is normal settlement, past 30 minutes something is stuck. */
export const openOrderAges = [
  { label: 'under-1m', maxMs: 60_000 },
  { label: '1-5m', maxMs: 5 * 60_000 },
  { label: '5-30m', maxMs: 30 * 60_000 },
  { label: 'over-30m', maxMs: Number.POSITIVE_INFINITY },
] as const;

/** Where the metric lines go: the function's log stream (stdout, which Lambda sends to CloudWatch Logs). */
export type LineWriter = (line: string) => void;

export interface EmfOptions {
  readonly namespace: string;
  /** Every metric's first dimension, `service`. */
  readonly service: string;
  /** @default a write to stdout */
  readonly write?: LineWriter;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Telemetry as CloudWatch metrics in the embedded metric format (EMF): one JSON line per count, with its own
 * dimensions, written at once, so a function that dies loses none before it.
 *
 * Written here rather than with Powertools Metrics, which wrote the same lines: its store, its validation and the
 * environment it re-reads on every publish cost about 3 % of a payment's CPU (`npm run bench` pairs the API
 * process with a floor server; Powertools' publish was the largest piece of the gateway's own code left in
 * the profile). The format is AWS's specification:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function emfTelemetry(options: EmfOptions): Telemetry {
  const emit = emfWriter(options);
  const count = (name: string, dimensions: Readonly<Record<string, string>>, value = 1) =>
    emit(name, 'Count', dimensions, value, [Object.keys(dimensions)]);
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
    refundAnswered: (channel, result) => {
      count(metricNames.refundCalls, { channel, result });
      if (result === 'unknown' || result === 'retry') count(metricNames.refundCallFailed, {});
    },
    refundSettled: (order, refund) => {
      count(metricNames.refunds, { channel: order.channel, state: refund.status });
      if (refund.status === 'ABNORMAL') count(metricNames.refundAbnormal, {});
    },
    refundOverdue: () => count(metricNames.refundOverdue, {}),
  };
}

/**
 * Reconciliation's metrics in EMF, each line also rolled up without the channel (`service` and `class`, or
 * `service` alone): the alarms watch the roll-ups, the dashboard the channels.
 */
export function emfReconciliationTelemetry(options: EmfOptions): ReconciliationTelemetry {
  const emit = emfWriter(options);
  return {
    statementMissing: (channel, status) =>
      emit(
        status === 'not_published' ? metricNames.statementNotPublished : metricNames.statementNotFetched,
        'Count',
        { channel },
        1,
        [['channel'], []],
      ),
    discrepancies: (channel, cls, count, fen) => {
      const rollups = [['channel', 'class'], ['class']];
      emit(metricNames.reconciliationDiscrepancies, 'Count', { channel, class: cls }, count, rollups);
      emit(metricNames.reconciliationDiscrepancyFen, 'None', { channel, class: cls }, fen, rollups);
    },
  };
}

/**
 * Writes one metric value as one EMF line, with its dimension values and the dimension sets (each after
 * `service`) CloudWatch files it under.
 */
function emfWriter(options: EmfOptions) {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  return (
    name: string,
    unit: 'Count' | 'None',
    dimensions: Readonly<Record<string, string>>,
    value: number,
    dimensionSets: readonly (readonly string[])[],
  ) =>
    write(
      JSON.stringify({
        _aws: {
          Timestamp: now(),
          CloudWatchMetrics: [
            {
              Namespace: options.namespace,
              Dimensions: dimensionSets.map((set) => ['service', ...set]),
              Metrics: [{ Name: name, Unit: unit }],
            },
          ],
        },
        service: options.service,
        ...dimensions,
        [name]: value,
      }),
    );
}

/** Telemetry that records nothing: metrics switched off (`POWERTOOLS_METRICS_DISABLED`, or a local dev run). */
export const noTelemetry: Telemetry = {
  paymentAnswered: () => {},
  settled: () => {},
  reverseFailed: () => {},
  settlementRestarted: () => {},
  openOrders: () => {},
  refundAnswered: () => {},
  refundSettled: () => {},
  refundOverdue: () => {},
};

/**
 * Whether metrics are written, by the environment variables Powertools reads for the same switch (the deployed
 * functions and the local stack set them): off with `POWERTOOLS_METRICS_DISABLED=true`, and off in a local dev
 * run (`POWERTOOLS_DEV=true`) unless `POWERTOOLS_METRICS_DISABLED=false` turns them on.
 */
export function metricsEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const disabled = env.POWERTOOLS_METRICS_DISABLED?.trim().toLowerCase();
  if (disabled === 'true' || disabled === '1') return false;
  if (disabled === 'false' || disabled === '0') return true;
  const dev = env.POWERTOOLS_DEV?.trim().toLowerCase();
  return !(dev === 'true' || dev === '1');
}

/** Reconciliation telemetry that records nothing (metrics switched off). */
export const noReconciliationTelemetry: ReconciliationTelemetry = {
  statementMissing: () => {},
  discrepancies: () => {},
};
