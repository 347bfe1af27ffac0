import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { readSettlementAsl } from '#adapters/asl.ts';
import { gatewayFunction } from './functions.ts';

export interface SettlementWorkflowProps {
  /** Environment shared by the gateway functions (tables, secret prefix, channel URLs). */
  readonly environment: Readonly<Record<string, string>>;
  /** Name of the state machine; its ARN is derived from it so functions can name it without a cycle. */
  readonly stateMachineName: string;
  /** How often the sweep restarts settlement of orders whose settlement died. @default Duration.minutes(1) */
  readonly sweepEvery?: Duration;
}

/**
 * The settlement protocol: the state machine from statemachines/settlement.asl.json (the same file local
 * mode runs), the settle function its Tasks invoke, and the scheduled sweep.
 */
export class SettlementWorkflow extends Construct {
  public readonly stateMachine: StateMachine;
  /** Runs one protocol step per Task (begin, query, reverse, give_up). */
  public readonly settleFunction: NodejsFunction;
  /** Restarts settlement of orders whose lease ran out. */
  public readonly sweepFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: SettlementWorkflowProps) {
    super(scope, id);
    this.settleFunction = gatewayFunction(this, 'Settle', {
      entry: 'settle/handler.ts',
      description: 'Settlement step: query or reverse an order per its channel protocol table',
      environment: props.environment,
      timeout: Duration.seconds(45),
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(readSettlementAsl()),
      definitionSubstitutions: { SettleFunctionArn: this.settleFunction.functionArn },
      timeout: Duration.minutes(5),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.THREE_MONTHS }),
        level: LogLevel.ERROR,
        includeExecutionData: false,
      },
    });
    this.settleFunction.grantInvoke(this.stateMachine);

    this.sweepFunction = gatewayFunction(this, 'Sweep', {
      entry: 'sweep/handler.ts',
      description: 'Restarts settlement of orders whose settlement died',
      environment: props.environment,
      timeout: Duration.minutes(2),
    });
    this.stateMachine.grantStartExecution(this.sweepFunction);
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the settlement sweep',
      schedule: Schedule.rate(props.sweepEvery ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweepFunction, { retryAttempts: 0 })],
    });
  }

  /** The ARN a state machine named `name` has in `scope`'s account and region. */
  static arnOf(scope: Construct, name: string): string {
    return Stack.of(scope).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}

/** Read access to the merchant secrets under one prefix: the only secrets the functions can see. */
export function merchantSecretsRead(arn: string): PolicyStatement {
  return new PolicyStatement({
    effect: Effect.ALLOW,
    actions: ['secretsmanager:GetSecretValue'],
    resources: [arn],
  });
}
