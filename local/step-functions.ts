import type { IncomingMessage, Server } from 'node:http';
import type { Context } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import { AwsServiceError, awsJsonServer } from './aws-json.ts';
import type { MeteredExecution } from './meter.ts';

/** A Lambda handler run in-process in place of the function a Task state names. */
export type LocalFunction = (event: unknown, context: Context) => Promise<unknown>;

interface Execution {
  readonly arn: string;
  readonly name: string;
  readonly stateMachineArn: string;
  readonly input: string;
  readonly startDate: number;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: string;
  error?: string;
  cause?: string;
  stopDate?: number;
  abort: () => void;
  done: Promise<void>;
}

export interface LocalStepFunctionsOptions {
  readonly region: string;
  /** ASL definitions (with substitutions applied) by state machine ARN. */
  readonly definitions: Readonly<Record<string, object>>;
  /** In-process handlers by the Lambda ARN the Task states name. */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  /** Told each finished execution's billed transitions and real-world duration (`local/meter.ts`). */
  readonly onExecutionMetered?: (execution: MeteredExecution) => void;
  /** The time scale the waits run at, to turn measured waits back into real-world time. @default 1 */
  readonly timeScale?: number;
  /**
   * `EXPRESS` (the deployed default) starts a new execution for every StartExecution, even under a name
   * already used, as Express workflows do (they are at-least-once); `STANDARD` makes a start idempotent by
   * name and input, as Standard workflows do. @default 'EXPRESS'
   */
  readonly type?: 'EXPRESS' | 'STANDARD';
  /** Validate each definition against the ASL schema first (asl-validator; ~250 ms). @default true */
  readonly validate?: boolean;
}

/**
 * Local Step Functions: StartExecution, DescribeExecution and StopExecution over the SDK's wire
 * protocol, each execution run by aws-local-stepfunctions from the real ASL file, with Express or Standard
 * start semantics.
 */
export class LocalStepFunctions {
  readonly server: Server;
  private readonly machines = new Map<string, StateMachine>();
  private readonly overrides = new Map<string, Record<string, (input: unknown) => Promise<unknown>>>();
  private readonly executions = new Map<string, Execution>();
  private readonly held = new Set<IncomingMessage>();
  private readonly options: LocalStepFunctionsOptions;
  /** Fault injection for tests: while true, StartExecution requests are received but never answered. */
  holdStarts = false;

  constructor(options: LocalStepFunctionsOptions) {
    this.options = options;
    for (const [arn, definition] of Object.entries(options.definitions)) {
      const noValidate = options.validate === false;
      this.machines.set(arn, new StateMachine(definition as never, { validationOptions: { noValidate } }));
      this.overrides.set(arn, this.taskOverrides(definition));
    }
    this.server = awsJsonServer('AWSStepFunctions', 'application/x-amz-json-1.0', {
      StartExecution: (input, req) => this.start(input, req),
      DescribeExecution: async (input) => this.describe(this.find(input.executionArn)),
      StopExecution: async (input) => {
        this.find(input.executionArn).abort();
        return { stopDate: Date.now() / 1000 };
      },
    });
  }

  /** Held StartExecution requests so far (tests wait for one before killing the caller). */
  get heldStarts(): number {
    return this.held.size;
  }

  list(): ReadonlyArray<Readonly<Omit<Execution, 'abort' | 'done'>>> {
    return [...this.executions.values()];
  }

  /** Resolves when no execution is running. */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
      if (running.length === 0) return;
      await Promise.all(running.map((e) => e.done));
    }
  }

  stopAll(): void {
    for (const execution of this.executions.values()) if (execution.status === 'RUNNING') execution.abort();
  }

  private taskOverrides(definition: object): Record<string, (input: unknown) => Promise<unknown>> {
    const states = (definition as { States: Record<string, { Type: string; Resource?: string }> }).States;
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of Object.entries(states)) {
      if (state.Type !== 'Task' || !state.Resource) continue;
      const fn = this.options.functions[state.Resource];
      if (!fn) throw new Error(`no local function for ${state.Resource} (state ${stateName})`);
      const functionName = state.Resource.split(':').pop() ?? 'local';
      overrides[stateName] = (input) => fn(input, lambdaContext(functionName));
    }
    return overrides;
  }

  private async start(input: Record<string, unknown>, req: IncomingMessage): Promise<unknown> {
    if (this.holdStarts) {
      this.held.add(req);
      req.socket.on('close', () => this.held.delete(req));
      return new Promise<never>(() => {});
    }
    const stateMachineArn = String(input.stateMachineArn ?? '');
    const machine = this.machines.get(stateMachineArn);
    if (!machine)
      throw new AwsServiceError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    const name = String(input.name ?? crypto.randomUUID());
    const express = (this.options.type ?? 'EXPRESS') === 'EXPRESS';
    const arn = express
      ? `${stateMachineArn.replace(':stateMachine:', ':express:')}:${name}:${crypto.randomUUID()}`
      : `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const body = String(input.input ?? '{}');
    const existing = this.executions.get(arn);
    if (existing) {
      // Like Step Functions standard workflows: the same name and input while running is the same execution.
      if (existing.status === 'RUNNING' && existing.input === body)
        return { executionArn: arn, startDate: existing.startDate };
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const run = machine.run(JSON.parse(body), {
      overrides: { taskResourceLocalHandlers: this.overrides.get(stateMachineArn) as never },
      noThrowOnAbort: true,
    });
    const execution: Execution = {
      arn,
      name,
      stateMachineArn,
      input: body,
      startDate: Date.now() / 1000,
      status: 'RUNNING',
      abort: run.abort,
      done: Promise.resolve(),
    };
    execution.done = run.result.then(
      (output: unknown) => {
        execution.status = output === null ? 'ABORTED' : 'SUCCEEDED';
        execution.output = JSON.stringify(output);
        execution.stopDate = Date.now() / 1000;
      },
      (error: unknown) => {
        execution.status = 'FAILED';
        execution.error = (error as { name?: string }).name ?? 'Error';
        execution.cause = error instanceof Error ? error.message : String(error);
        execution.stopDate = Date.now() / 1000;
      },
    );
    const metered = this.options.onExecutionMetered;
    if (metered) {
      // The execution counts as done once its metering is in, so `idle()` sees every execution counted.
      const counted = meter(run.eventLogs, this.options.timeScale ?? 1).then(metered, () => {});
      execution.done = Promise.all([execution.done, counted]).then(() => {});
    }
    this.executions.set(arn, execution);
    return { executionArn: arn, startDate: execution.startDate };
  }

  private find(arn: unknown): Execution {
    const execution = this.executions.get(String(arn ?? ''));
    if (!execution)
      throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return execution;
  }

  private describe(e: Execution): Record<string, unknown> {
    return {
      executionArn: e.arn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      stopDate: e.stopDate,
      input: e.input,
      output: e.output,
      error: e.error,
      cause: e.cause,
    };
  }
}

/**
 * Reads an execution's events into what it is billed for: every state entered or retried is a transition
 * (Standard), and its duration with the waits turned back into real-world time (Express).
 */
async function meter(
  events: AsyncGenerator<{ type: string; timestamp: number; state?: { type: string } }>,
  timeScale: number,
): Promise<MeteredExecution> {
  let transitions = 0;
  let started: number | undefined;
  let ended: number | undefined;
  let waited = 0;
  let waitEntered: number | undefined;
  for await (const event of events) {
    if (event.type === 'ExecutionStarted') started = event.timestamp;
    if (event.type === 'StateEntered' || event.type === 'StateRetried') transitions += 1;
    if (event.state?.type === 'Wait' && event.type === 'StateEntered') waitEntered = event.timestamp;
    if (event.state?.type === 'Wait' && event.type === 'StateExited' && waitEntered !== undefined) {
      waited += event.timestamp - waitEntered;
      waitEntered = undefined;
    }
    if (event.type.startsWith('Execution') && event.type !== 'ExecutionStarted') ended = event.timestamp;
  }
  const total = (ended ?? Date.now()) - (started ?? Date.now());
  return { transitions, realDurationMs: total - waited + waited / timeScale };
}

/** The part of a Lambda context the handlers' middleware reads. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
