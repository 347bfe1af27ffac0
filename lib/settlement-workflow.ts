import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { readSettlementAsl } from '#adapters/asl.ts';
import { lambdaFunction } from './functions.ts';

export interface SettlementWorkflowProps {
  /** Environment shared by the gateway functions (tables, secret prefix, channel URLs). */
  readonly environment: Readonly<Record<string, string>>;
  /** Name of the state machine; its ARN is derived from it so functions can name it without a cycle. */
  readonly stateMachineName: string;
  /**
   * `EXPRESS`: billed by requests and duration, at-least-once, at most 5 minutes an execution (every
   * channel's protocol table fits, a test checks). `STANDARD`: billed per state transition, exactly-once,
   * a year long, and its executions' history is kept 90 days. @default StateMachineType.EXPRESS
   */
  readonly workflowType?: StateMachineType;
  /** How often the sweep restarts settlement of orders whose settlement died. @default Duration.minutes(1) */
  readonly sweepEvery?: Duration;
  /** How long the functions' and the executions' logs are kept. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
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
  /** Executions that fail, with their error (ERROR level, no execution data: no payment details in logs). */
  public readonly executionLogs: LogGroup;

  constructor(scope: Construct, id: string, props: SettlementWorkflowProps) {
    super(scope, id);
    const retention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    this.settleFunction = lambdaFunction(this, 'Settle', {
      entry: 'settle/handler.ts',
      description: 'Settlement step: query or reverse an order per its channel protocol table',
      environment: props.environment,
      timeout: Duration.seconds(45),
      logRetention: retention,
    });
    this.executionLogs = new LogGroup(this, 'ExecutionLogs', { retention });
    const workflowType = props.workflowType ?? StateMachineType.EXPRESS;
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: workflowType,
      definitionBody: DefinitionBody.fromString(readSettlementAsl()),
      definitionSubstitutions: { SettleFunctionArn: this.settleFunction.functionArn },
      // The ASL's own TimeoutSeconds says the same; Express executions cannot run longer anyway.
      timeout: Duration.minutes(5),
      tracingEnabled: true,
      logs: { destination: this.executionLogs, level: LogLevel.ERROR, includeExecutionData: false },
    });
    // Its Tasks name the function's unqualified ARN; grantInvoke would add every version and alias (ARN:*).
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.settleFunction.functionArn],
      }),
    );

    this.sweepFunction = lambdaFunction(this, 'Sweep', {
      entry: 'sweep/handler.ts',
      description: 'Restarts settlement of orders whose settlement died',
      environment: props.environment,
      timeout: Duration.minutes(2),
      logRetention: retention,
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
