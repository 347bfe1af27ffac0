import { StateMachine } from 'aws-local-stepfunctions';
import jsonata from 'jsonata';

/**
 * Runs a JSONata state machine with aws-local-stepfunctions. Its 3.0.0 evaluates JSONPath only: in a JSONata
 * definition it ignores Arguments, Output and Assign (a Task gets its raw input, no variable is set) and cannot
 * evaluate a Choice rule's Condition or a Fail's expressions. So each state is lowered to a JSONPath state it
 * runs, whose JSONata a local Task handler evaluates (npm `jsonata`), and aws-local-stepfunctions still runs the
 * graph: transitions, Retry (with its States.TaskFailed and States.ALL matching), Catch, Wait and the timeout.
 * An inline Map is a local Task too: each iteration is a run of its ItemProcessor of its own (at most
 * MaxConcurrency at once), reading the Map's variables and assigning only its own, as in Step Functions.
 */

export interface AslState {
  readonly Type: string;
  readonly [field: string]: unknown;
}

export interface JsonataDefinition {
  readonly QueryLanguage?: string;
  readonly Comment?: string;
  readonly StartAt: string;
  readonly TimeoutSeconds?: number;
  readonly States: Readonly<Record<string, AslState>>;
}

/** What a Task state asked of a service, its Arguments and Credentials evaluated. */
export interface ServiceCall {
  readonly state: string;
  readonly resource: string;
  readonly roleArn: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: whatever JSON the definition built
  readonly arguments: any;
}

/** Answers a Task's call as the service would: its result, or a thrown StatesError. */
export type Services = (call: ServiceCall) => unknown;

/** An error as Step Functions names it (`DynamoDb.ThrottlingException`, `States.TaskFailed`) with its cause. */
export class StatesError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

export interface ExecutionOptions {
  readonly input?: unknown;
  readonly name: string;
  readonly startTime: string;
  readonly stateMachineArn: string;
  readonly services: Services;
  /** An execution that takes more steps than this is stopped (a Choice loop that never ends). @default 200 */
  readonly maxSteps?: number;
  /** The variables a Map iteration starts with: its Map state's, which it reads but cannot assign. */
  readonly variables?: Readonly<Record<string, unknown>>;
}

export interface ExecutionResult {
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** The definition's states entered, in order. */
  readonly states: readonly string[];
  /** A state's name for each retry of it. */
  readonly retries: readonly string[];
  readonly calls: readonly ServiceCall[];
  /** Each Map iteration's own run, in the order they ended. */
  readonly iterations: readonly ExecutionResult[];
  /** Per Map state, the most iterations that ran at once. */
  readonly concurrency: Readonly<Record<string, number>>;
}

type Handler = (input: unknown) => Promise<unknown>;

interface Lowered {
  readonly definition: object;
  readonly handlers: Record<string, Handler>;
  readonly waits: Record<string, number>;
  readonly retries: Record<string, number>;
  readonly helpers: ReadonlySet<string>;
}

const isExpression = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith('{%') && value.endsWith('%}');

/**
 * Evaluates a JSONata template as Step Functions does: a string `{% … %}` is an expression, objects and arrays
 * are evaluated member by member, anything else is itself. An expression with no value, or that fails, is
 * States.QueryEvaluationError, as in Step Functions.
 */
async function evaluate(
  template: unknown,
  bindings: Record<string, unknown>,
  where: string,
): Promise<unknown> {
  if (isExpression(template)) {
    let value: unknown;
    try {
      value = await jsonata(template.slice(2, -2)).evaluate(undefined, bindings);
    } catch (error) {
      throw new StatesError('States.QueryEvaluationError', `${where}: ${(error as Error).message}`);
    }
    if (value === undefined)
      throw new StatesError('States.QueryEvaluationError', `${where}: ${template} has no value`);
    // JSONata's objects have no prototype and its sequences are arrays with extra fields: pass on plain JSON.
    return JSON.parse(JSON.stringify(value));
  }
  if (Array.isArray(template))
    return Promise.all(template.map((item, i) => evaluate(item, bindings, `${where}[${i}]`)));
  if (template !== null && typeof template === 'object')
    return Object.fromEntries(
      await Promise.all(
        Object.entries(template).map(async ([key, value]) => [
          key,
          await evaluate(value, bindings, `${where}.${key}`),
        ]),
      ),
    );
  return template;
}

/** Runs `definition` (a JSONata one) to its end; every Wait and Retry interval is 0. */
export async function runJsonataMachine(
  definition: JsonataDefinition,
  options: ExecutionOptions,
): Promise<ExecutionResult> {
  const calls: ServiceCall[] = [];
  const variables: Record<string, unknown> = { ...options.variables };
  const iterations: ExecutionResult[] = [];
  const concurrency: Record<string, number> = {};
  const inputs = new Map<string, unknown>();
  const maxSteps = options.maxSteps ?? 200;
  let steps = 0;
  let stopped = false;
  const smName = options.stateMachineArn.split(':').pop() ?? '';
  const execution = {
    Id: `${options.stateMachineArn.replace(':stateMachine:', ':execution:')}:${options.name}`,
    Input: options.input ?? {},
    Name: options.name,
    StartTime: options.startTime,
    RedriveCount: 0,
  };
  const context = (state: string) => ({
    Execution: execution,
    StateMachine: { Id: options.stateMachineArn, Name: smName },
    State: { Name: state, EnteredTime: new Date().toISOString() },
  });
  let abort = () => {};
  /** A handler for a lowered state: counts steps, and evaluates with the state's $states and the variables. */
  const step =
    (state: string, body: (states: Record<string, unknown>) => Promise<unknown>): Handler =>
    async (input) => {
      steps += 1;
      if (steps > maxSteps) {
        stopped = true;
        abort();
      }
      return body({ input, context: context(state) });
    };
  const bind = (states: Record<string, unknown>) => ({ ...variables, states });
  /** Assign and Output evaluated together, on the variables as they were (Step Functions' order). */
  const finish = async (state: string, assign: unknown, output: unknown, states: Record<string, unknown>) => {
    const bindings = bind(states);
    const [assigned, result] = await Promise.all([
      evaluate(assign ?? {}, bindings, `${state}.Assign`),
      evaluate(output, bindings, `${state}.Output`),
    ]);
    Object.assign(variables, assigned);
    return result;
  };

  const lowered = lower(definition, {
    task: (state, fields) =>
      step(state, async (states) => {
        inputs.set(state, states.input);
        const bindings = bind(states);
        const args = await evaluate(
          fields.Arguments ?? '{% $states.input %}',
          bindings,
          `${state}.Arguments`,
        );
        const credentials = (await evaluate(fields.Credentials, bindings, `${state}.Credentials`)) as
          | { RoleArn?: string }
          | undefined;
        const call = {
          state,
          resource: String(fields.Resource),
          roleArn: credentials?.RoleArn,
          arguments: args,
        };
        calls.push(call);
        const result = JSON.parse(JSON.stringify((await options.services(call)) ?? null)) as unknown;
        return finish(state, fields.Assign, fields.Output ?? '{% $states.result %}', { ...states, result });
      }),
    caught: (state, catcher) =>
      step(state, async ({ input: errorOutput, context }) =>
        finish(state, catcher.Assign, catcher.Output ?? '{% $states.errorOutput %}', {
          input: inputs.get(state),
          errorOutput,
          context,
        }),
      ),
    pass: (state, fields) =>
      step(state, (states) => finish(state, fields.Assign, fields.Output ?? '{% $states.input %}', states)),
    choose: (state, fields) =>
      step(state, async (states) => {
        const bindings = bind(states);
        const rules = (fields.Choices ?? []) as { Condition: string; Next: string }[];
        for (const [i, rule] of rules.entries()) {
          const holds = await evaluate(rule.Condition, bindings, `${state}.Choices[${i}].Condition`);
          if (typeof holds !== 'boolean')
            throw new StatesError('States.QueryEvaluationError', `${state}: Condition is not a boolean`);
          if (holds) return { next: rule.Next, input: states.input };
        }
        if (fields.Default) return { next: fields.Default, input: states.input };
        throw new StatesError('States.NoChoiceMatched', `${state}: no rule matched, no Default`);
      }),
    fail: (state, fields) =>
      step(state, async (states) => {
        const bindings = bind(states);
        return {
          Error: await evaluate(fields.Error ?? '', bindings, `${state}.Error`),
          Cause: await evaluate(fields.Cause ?? '', bindings, `${state}.Cause`),
        };
      }),
    map: (state, fields) =>
      step(state, async (states) => {
        inputs.set(state, states.input);
        const items = await evaluate(fields.Items ?? '{% $states.input %}', bind(states), `${state}.Items`);
        if (!Array.isArray(items))
          throw new StatesError('States.QueryEvaluationError', `${state}: Items is not an array`);
        const processor = fields.ItemProcessor as Pick<JsonataDefinition, 'StartAt' | 'States'>;
        // Each iteration reads the Map's variables as they are now, and assigns only its own.
        const outer = { ...variables };
        const limit = Number(fields.MaxConcurrency ?? 0) || Number.POSITIVE_INFINITY;
        const outputs: unknown[] = [];
        let next = 0;
        let running = 0;
        let failure: StatesError | undefined;
        const iterate = async (index: number) => {
          const itemContext = { ...context(state), Map: { Item: { Index: index, Value: items[index] } } };
          const input =
            fields.ItemSelector === undefined
              ? items[index]
              : await evaluate(
                  fields.ItemSelector,
                  { ...outer, states: { input: states.input, context: itemContext } },
                  `${state}.ItemSelector`,
                );
          const run = await runJsonataMachine(
            { QueryLanguage: 'JSONata', StartAt: processor.StartAt, States: processor.States },
            { ...options, input, variables: outer },
          );
          iterations.push(run);
          calls.push(...run.calls);
          if (run.status !== 'SUCCEEDED')
            failure ??= new StatesError(run.error ?? 'States.TaskFailed', run.cause ?? '');
          outputs[index] = run.output;
        };
        const worker = async () => {
          while (next < items.length && !failure) {
            const index = next++;
            running += 1;
            concurrency[state] = Math.max(concurrency[state] ?? 0, running);
            await iterate(index).finally(() => {
              running -= 1;
            });
          }
        };
        await Promise.all(Array.from({ length: Math.min(limit, Math.max(items.length, 1)) }, worker));
        if (failure) throw failure;
        return finish(state, fields.Assign, fields.Output ?? '{% $states.result %}', {
          ...states,
          result: outputs,
        });
      }),
  });

  const machine = machineOf(lowered.definition);
  const run = machine.run((options.input ?? {}) as never, {
    overrides: {
      taskResourceLocalHandlers: lowered.handlers as never,
      waitTimeOverrides: lowered.waits,
      retryIntervalOverrides: lowered.retries,
    },
    noThrowOnAbort: true,
  });
  abort = run.abort;
  let outcome: Pick<ExecutionResult, 'status' | 'output' | 'error' | 'cause'>;
  try {
    const output = await run.result;
    outcome = stopped
      ? { status: 'ABORTED', error: 'Aborted', cause: `more than ${maxSteps} steps` }
      : { status: 'SUCCEEDED', output };
  } catch (error) {
    const failure = (error as { cause?: Error }).cause ?? (error as Error);
    outcome = { status: 'FAILED', error: failure.name, cause: failure.message };
  }
  const states: string[] = [];
  const retries: string[] = [];
  for await (const event of run.eventLogs) {
    const name = (event as { state?: { name: string } }).state?.name ?? '';
    if (event.type === 'StateEntered' && !lowered.helpers.has(name)) states.push(name);
    if (event.type === 'StateRetried') retries.push(name);
  }
  return { ...outcome, states, retries, calls, iterations, concurrency };
}

/**
 * One validated StateMachine per lowered definition (asl-validator takes a quarter of a second): the lowered
 * definition holds the graph, Retry and Catch, not the expressions, so most copies of a definition share one.
 */
const machines = new Map<string, StateMachine>();
function machineOf(definition: object): StateMachine {
  const key = JSON.stringify(definition);
  let machine = machines.get(key);
  if (!machine) {
    machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    machines.set(key, machine);
  }
  return machine;
}

type Fields = Readonly<Record<string, unknown>>;

interface Evaluators {
  readonly task: (state: string, fields: Fields) => Handler;
  readonly caught: (state: string, catcher: Fields) => Handler;
  readonly pass: (state: string, fields: Fields) => Handler;
  readonly choose: (state: string, fields: Fields) => Handler;
  readonly fail: (state: string, fields: Fields) => Handler;
  readonly map: (state: string, fields: Fields) => Handler;
}

/** The fields each state type may have here; any other (Parallel, a distributed Map, a JSONata Wait…) is refused. */
const supported: Record<string, readonly string[]> = {
  Task: ['Resource', 'Credentials', 'Arguments', 'Assign', 'Output', 'Retry', 'Catch', 'TimeoutSeconds'],
  Map: ['Items', 'ItemSelector', 'ItemProcessor', 'MaxConcurrency', 'Assign', 'Output', 'Retry', 'Catch'],
  Pass: ['Assign', 'Output'],
  Choice: ['Choices', 'Default'],
  Wait: ['Seconds', 'Timestamp'],
  Succeed: ['Output'],
  Fail: ['Error', 'Cause'],
};
const local = 'arn:aws:lambda:local:000000000000:function:jsonata';

function lower(definition: JsonataDefinition, evaluators: Evaluators): Lowered {
  if (definition.QueryLanguage !== 'JSONata') throw new Error('not a JSONata state machine');
  const states: Record<string, object> = {};
  const handlers: Record<string, Handler> = {};
  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  const helpers = new Set<string>();
  const helper = (name: string, state: object, handler?: Handler) => {
    helpers.add(name);
    states[name] = state;
    if (handler) handlers[name] = handler;
    return name;
  };
  for (const [name, state] of Object.entries(definition.States)) {
    const { Type, Comment: _, Next, End, ...fields } = state;
    const allowed = supported[Type];
    if (!allowed) throw new Error(`${name}: ${Type} states are not lowered`);
    for (const field of Object.keys(fields))
      if (!allowed.includes(field)) throw new Error(`${name}: ${field} is not lowered`);
    const flow = Next ? { Next } : { End: true };
    switch (Type) {
      case 'Map':
      case 'Task': {
        if (Type === 'Map') {
          const mode = (fields.ItemProcessor as { ProcessorConfig?: { Mode?: string } }).ProcessorConfig
            ?.Mode;
          if (mode && mode !== 'INLINE') throw new Error(`${name}: only an inline Map is lowered`);
        }
        const catchers = (fields.Catch ?? []) as (Fields & { ErrorEquals: string[]; Next: string })[];
        states[name] = {
          Type: 'Task',
          Resource: Type === 'Map' ? local : fields.Resource,
          ...(fields.TimeoutSeconds ? { TimeoutSeconds: fields.TimeoutSeconds } : {}),
          ...(fields.Retry ? { Retry: fields.Retry } : {}),
          ...(catchers.length > 0
            ? {
                Catch: catchers.map((catcher, i) => ({
                  ErrorEquals: catcher.ErrorEquals,
                  // The catcher's Output and Assign run in a state of their own, on the error output.
                  Next: helper(`${name} (catch ${i})`, { Type: 'Task', Resource: local, Next: catcher.Next }),
                })),
              }
            : {}),
          ...flow,
        };
        handlers[name] = Type === 'Map' ? evaluators.map(name, fields) : evaluators.task(name, fields);
        catchers.forEach((catcher, i) => {
          handlers[`${name} (catch ${i})`] = evaluators.caught(name, catcher);
        });
        if (fields.Retry) retries[name] = 0;
        break;
      }
      case 'Pass':
        states[name] = { Type: 'Task', Resource: local, ...flow };
        handlers[name] = evaluators.pass(name, fields);
        break;
      case 'Succeed':
        states[name] = { Type: 'Task', Resource: local, End: true };
        handlers[name] = evaluators.pass(name, fields);
        break;
      case 'Choice': {
        const targets = [
          ...new Set([
            ...((fields.Choices ?? []) as Fields[]).map((rule) => {
              const { Condition, Next: target, Comment: __, ...rest } = rule;
              if (Object.keys(rest).length > 0 || !isExpression(Condition))
                throw new Error(`${name}: only rules of a JSONata Condition and Next are lowered`);
              return String(target);
            }),
            ...(fields.Default ? [String(fields.Default)] : []),
          ]),
        ];
        // The rule that holds is found by the handler; a JSONPath Choice then goes where it says.
        const route = helper(`${name} (route)`, {
          Type: 'Choice',
          Choices: targets.map((target) => ({ Variable: '$.next', StringEquals: target, Next: target })),
          OutputPath: '$.input',
        });
        states[name] = { Type: 'Task', Resource: local, Next: route };
        handlers[name] = evaluators.choose(name, fields);
        break;
      }
      case 'Wait':
        if (isExpression(fields.Seconds) || isExpression(fields.Timestamp))
          throw new Error(`${name}: a JSONata wait is not lowered`);
        states[name] = { Type: 'Wait', ...fields, ...flow };
        waits[name] = 0;
        break;
      case 'Fail': {
        const fail = helper(`${name} (fail)`, { Type: 'Fail', ErrorPath: '$.Error', CausePath: '$.Cause' });
        states[name] = { Type: 'Task', Resource: local, Next: fail };
        handlers[name] = evaluators.fail(name, fields);
        break;
      }
    }
  }
  const lowered = {
    StartAt: definition.StartAt,
    ...(definition.TimeoutSeconds ? { TimeoutSeconds: definition.TimeoutSeconds } : {}),
    States: states,
  };
  return { definition: lowered, handlers, waits, retries, helpers };
}
