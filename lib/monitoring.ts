import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface MonitoringProps {
  readonly stateMachine: StateMachine;
  /** Functions whose errors page someone. */
  readonly functions: Readonly<Record<string, IFunction>>;
}

/**
 * Alarms an operator must act on, all to one SNS topic: a reverse that kept failing (money may be held),
 * settlement executions that failed, and function errors.
 */
export class Monitoring extends Construct {
  /** Subscribe on-call to this topic. */
  public readonly alarmTopic: Topic;
  public readonly reverseFailedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.alarmTopic = new Topic(this, 'Alarms', { displayName: 'Micropay gateway alarms' });
    const action = new SnsAction(this.alarmTopic);
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
    this.reverseFailedAlarm = alarm(
      'ReverseFailed',
      new Metric({
        namespace: 'Micropay',
        metricName: 'ReverseFailed',
        dimensionsMap: { service: 'micropay' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      'An order is REVERSE_FAILED: reverse kept failing and the payment may still be held. Reverse it again (POST /v1/reverse) or settle it with the channel.',
    );
    alarm(
      'SettlementFailed',
      props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      'A settlement execution failed; the sweep restarts interrupted ones, ReverseFailed ones need an operator.',
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        `${name} function errors`,
      );
    }
  }
}
