import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type DiscrepancyClass, discrepancyClasses } from '#core/reconciliation/run.ts';
import { metricNames, metricNamespace, metricService } from '../adapters/emf-telemetry.ts';

const namespace = metricNamespace;
const service = metricService;

/** What `Monitoring.watchReconciliation` watches. */
export interface ReconciliationWatch {
  /** The daily reconciliation run. */
  readonly stateMachine: StateMachine;
  /** Its functions, by name: their errors alarm. */
  readonly functions: Readonly<Record<string, IFunction>>;
}

export interface MonitoringProps {
  readonly stateMachine: StateMachine;
  readonly api: HttpApi;
  /** Functions whose errors page someone, by name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Where alarms go: an existing topic (e.g. the on-call one). @default a new topic */
  readonly alarmTopic?: ITopic;
  /** An e-mail address subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Name of the dashboard. @default CloudFormation's */
  readonly dashboardName?: string;
}

/**
 * What an operator watches and what pages them. Alarms, all to one SNS topic: a reverse that kept failing
 * (money may be held), settlement executions that failed or timed out, function errors. The dashboard:
 * payments per minute by channel and outcome, API latency p50/p99, open orders by age, settlements by final
 * state, REVERSE_FAILED, executions failed or timed out, sweep restarts.
 */
export class Monitoring extends Construct {
  /** Subscribe on-call to this topic. */
  public readonly alarmTopic: ITopic;
  public readonly reverseFailedAlarm: Alarm;
  public readonly dashboard: Dashboard;
  /** Reconciliation's alarms by name (`watchReconciliation`): one per class of discrepancy, and more. */
  public readonly reconciliationAlarms: Record<string, Alarm> = {};
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.alarmTopic =
      props.alarmTopic ??
      new Topic(this, 'Alarms', { displayName: 'Micropay gateway alarms', enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);
    this.action = action;
    const alarm = (name: string, metric: Metric, description: string) => {
      const created = new Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      return created;
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    const reverseFailed = new Metric({
      namespace,
      metricName: metricNames.reverseFailed,
      dimensionsMap: { service },
      ...fiveMinutes,
    });
    this.reverseFailedAlarm = alarm(
      'ReverseFailed',
      reverseFailed,
      'An order is REVERSE_FAILED: reverse kept failing and the payment may still be held. Reverse it again (POST /v1/reverse) or settle it with the channel.',
    );
    const failed = props.stateMachine.metricFailed(fiveMinutes);
    const timedOut = props.stateMachine.metricTimedOut(fiveMinutes);
    alarm(
      'SettlementFailed',
      failed,
      'A settlement execution failed; the sweep restarts interrupted ones, ReverseFailed ones need an operator.',
    );
    alarm(
      'SettlementTimedOut',
      timedOut,
      'A settlement execution ran out of time; the order keeps its lease and the sweep restarts it.',
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, fn.metricErrors(fiveMinutes), `${name} function errors`);
    }

    const serviceMetric = (metricName: string) =>
      new Metric({ namespace, metricName, dimensionsMap: { service }, ...fiveMinutes });
    alarm(
      'RefundAbnormal',
      serviceMetric(metricNames.refundAbnormal),
      'A refund is abnormal (WeChat CHANGE): the channel took the money back from the merchant but could not return it to the shopper. Settle it with the channel by hand (its portal), then tell the shopper.',
    );
    alarm(
      'RefundOverdue',
      serviceMetric(metricNames.refundOverdue),
      'A refund is still processing 72 hours after it was made. The gateway keeps following it; check it with the channel (a bank card refund can take days).',
    );
    new Alarm(this, 'RefundCallsFailing', {
      metric: serviceMetric(metricNames.refundCallFailed),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'Five or more refund calls in 5 minutes got no answer or a retry answer. They are sent again under the same refund number; if it lasts, the channel (or our credentials for it) is failing.',
    }).addAlarmAction(action);
    const search = (metric: string, dimensions: string, statistic: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${namespace},${['service', ...dimensions.split(',')].join(',')}} MetricName="${metric}"', '${statistic}', 60)`,
        label,
        period: Duration.minutes(1),
      });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Micropay gateway\nPayments answered by channel and outcome (`paid`, `refused`, `settling`: being queried/reversed, `replayed`: a retry). Open orders are counted by the sweep each minute as it looks at them (each open order about every 1–2 minutes). REVERSE_FAILED needs an operator.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Payments per minute, by channel and outcome',
        left: [search(metricNames.payments, 'channel,outcome', 'Sum', '')],
        width: 12,
      }),
      new GraphWidget({
        title: 'API latency (ms)',
        left: [
          props.api.metricLatency({ statistic: 'p50', period: Duration.minutes(1), label: 'p50' }),
          props.api.metricLatency({ statistic: 'p99', period: Duration.minutes(1), label: 'p99' }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Open orders by age (seen by the sweep)',
        left: [search(metricNames.openOrders, 'age', 'Maximum', '')],
        stacked: true,
        width: 12,
      }),
      new GraphWidget({
        title: 'Settlements by final state',
        left: [search(metricNames.settled, 'channel,state', 'Sum', '')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new SingleValueWidget({
        title: 'REVERSE_FAILED (last 3 h)',
        metrics: [reverseFailed.with({ period: Duration.hours(3) })],
        width: 6,
      }),
      new GraphWidget({
        title: 'Settlement executions failed / timed out',
        left: [failed.with({ label: 'failed' }), timedOut.with({ label: 'timed out' })],
        width: 9,
      }),
      new GraphWidget({
        title: 'Sweep restarts, by channel',
        left: [search(metricNames.restarts, 'channel', 'Sum', '')],
        width: 9,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Refunds by final state, by channel',
        left: [search(metricNames.refunds, 'channel,state', 'Sum', '')],
        width: 12,
      }),
      new GraphWidget({
        title: 'Refund calls by answer, by channel',
        left: [search(metricNames.refundCalls, 'channel,result', 'Sum', '')],
        width: 12,
      }),
    );
  }

  /**
   * Reconciliation's alarms (SPEC section 9: every class but matched is money at risk): a day's discrepancies of
   * each class, a statement still not published (or not fetched) after the run's day of retries, the run's
   * functions' errors, and a run that failed, timed out or was aborted. The dashboard shows discrepancies by
   * channel and class.
   */
  watchReconciliation(watch: ReconciliationWatch): void {
    // One run a day publishes once: an hour's sum holds it, and the alarm goes back to OK an hour later (each
    // day's discrepancies page again).
    const hourly = { period: Duration.hours(1), statistic: 'Sum' };
    const alarm = (name: string, metric: Metric | MathExpression, description: string) => {
      const created = new Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(this.action);
      this.reconciliationAlarms[name] = created;
      return created;
    };
    const meaning: Readonly<Record<DiscrepancyClass, string>> = {
      missing_local: 'the channel took a payment or made a refund that the gateway has no record of',
      missing_channel: "the gateway records a payment or a refund that the channel's statement lacks",
      amount_mismatch: 'the same payment or refund has another amount at the channel',
      state_mismatch: 'the gateway and the channel disagree on the outcome (paid, reversed, refunded)',
    };
    for (const cls of discrepancyClasses) {
      const title = cls
        .split('_')
        .map((word) => `${word[0]?.toUpperCase()}${word.slice(1)}`)
        .join('');
      alarm(
        `Reconciliation${title}`,
        new Metric({
          namespace,
          metricName: metricNames.reconciliationDiscrepancies,
          dimensionsMap: { service, class: cls },
          ...hourly,
        }),
        `Reconciliation found ${cls} rows: ${meaning[cls]}. Money is at risk: list them (micropay report reconciliation --date <day>, or the reconciliation-discrepancies query in Athena) and settle each with the channel.`,
      );
    }
    alarm(
      'StatementNotPublished',
      new Metric({
        namespace,
        metricName: metricNames.statementNotPublished,
        dimensionsMap: { service },
        ...hourly,
      }),
      "A channel had still not published an account's statement a day after the settlement day's run began; that account's payments were not reconciled. Ask the channel, then start the run again (micropay reconcile --state-machine … --date <day>).",
    );
    alarm(
      'StatementNotFetched',
      new Metric({
        namespace,
        metricName: metricNames.statementNotFetched,
        dimensionsMap: { service },
        ...hourly,
      }),
      "An account's statement could not be fetched for a day (no answer, or an error: see the fetch function's logs); its payments were not reconciled. Fix the cause, then start the run again (micropay reconcile --state-machine … --date <day>).",
    );
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    for (const [name, fn] of Object.entries(watch.functions)) {
      alarm(`${name}Errors`, fn.metricErrors(fiveMinutes), `${name} function errors`);
    }
    alarm(
      'ReconciliationFailed',
      new MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: {
          failed: watch.stateMachine.metricFailed(fiveMinutes),
          timedOut: watch.stateMachine.metricTimedOut(fiveMinutes),
          aborted: watch.stateMachine.metricAborted(fiveMinutes),
        },
        period: Duration.minutes(5),
        label: 'failed reconciliation runs',
      }),
      "A reconciliation run failed, timed out or was aborted: the day's discrepancies are not known. Read the execution's error, fix, start it again (micropay reconcile --state-machine … --date <day>).",
    );
    const search = (metric: string, dimensions: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${namespace},${['service', ...dimensions.split(',')].join(',')}} MetricName="${metric}"', 'Sum', 86400)`,
        label,
        period: Duration.days(1),
      });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Reconciliation: discrepancies per day, by channel and class',
        left: [search(metricNames.reconciliationDiscrepancies, 'channel,class', '')],
        width: 12,
      }),
      new GraphWidget({
        title: 'Reconciliation: statements missing after a day, by channel',
        left: [
          search(metricNames.statementNotPublished, 'channel', 'not published'),
          search(metricNames.statementNotFetched, 'channel', 'not fetched'),
        ],
        width: 12,
      }),
    );
  }
}
