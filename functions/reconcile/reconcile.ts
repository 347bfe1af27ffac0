import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import {
  type AccountRef,
  type DiscrepancyTotal,
  discrepancyClasses,
  fetchAccount,
  listAccounts,
  publishDiscrepancies,
  type RecordSummary,
  recordAccounts,
} from '#core/reconciliation/run.ts';
import type { AccountResult } from '#core/reconciliation/statements.ts';
import type { AccountsRuntime, FetchRuntime, PublishRuntime, RecordRuntime } from './runtime.ts';

/**
 * The reconciliation state machine's tasks (statemachines/reconciliation.asl.json), one function each: parse
 * the input the machine built, call one step of core/reconciliation/run.ts, return what the machine reads next.
 * A malformed input throws (the execution fails with it); a channel's failure is an answer, not an error.
 */

/** A settlement day, `YYYY-MM-DD`, that is a real date. */
const billDate = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
  z.refine((value) => {
    const day = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
  }, 'must be a date YYYY-MM-DD'),
);
const id = z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(256, 'is too long'));
const accountRef = z.object({ channel: id, account: z.string(), merchant_ids: z.array(id) });
const accountResult = z.union([
  z.object({ kind: z.literal('fetched'), rows: z.number() }),
  z.object({ kind: z.literal('kept') }),
  z.object({ kind: z.literal('not_published'), said: z.string() }),
  z.object({ kind: z.literal('unknown'), said: z.string() }),
  z.object({ kind: z.literal('no_statement') }),
]);

const accountsInput = z.object({ bill_date: billDate });
const fetchInput = z.extend(accountRef, { bill_date: billDate });
const recordInput = z.object({
  bill_date: billDate,
  accounts: z.array(z.extend(accountRef, { result: accountResult })),
});
/** Athena's GetQueryResults ResultSet of finance/sql/reconciliation-totals.sql: a header row, then the totals. */
const totalsInput = z.object({
  bill_date: billDate,
  result_set: z.object({
    Rows: z.array(z.object({ Data: z.array(z.object({ VarCharValue: z.optional(z.string()) })) })),
  }),
});

function parse<T>(schema: z.ZodMiniType<T>, input: unknown): T {
  const parsed = z.safeParse(schema, input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`);
  throw new InvalidReconcileInput(problems.join('; '));
}

/** The machine gave a task what it cannot run on: the execution fails with this error's name. */
export class InvalidReconcileInput extends Error {
  override readonly name = 'InvalidReconcileInput';
}

type Handler<I, O> = (input: I, context: Context) => Promise<O>;

/** Lists the day's accounts: every channel account the merchants route to, without credentials. */
export function accountsFunction(
  runtime: AccountsRuntime,
): Handler<unknown, { bill_date: string; accounts: AccountRef[] }> {
  async function accounts(input: unknown) {
    const { bill_date } = parse(accountsInput, input);
    const listed = await listAccounts(runtime, await runtime.merchants.ids());
    runtime.logger.info('statement accounts', { bill_date, accounts: listed.length });
    return { bill_date, accounts: listed };
  }
  return middy(accounts).use(injectLambdaContext(runtime.logger, { resetKeys: true }));
}

/** Fetches one account's statement of the day into the exports bucket; `not_published` is fetched again later. */
export function fetchFunction(runtime: FetchRuntime): Handler<unknown, AccountResult> {
  async function fetch(input: unknown) {
    const { bill_date, ...ref } = parse(fetchInput, input);
    runtime.logger.appendKeys({ channel: ref.channel, account: ref.account, bill_date });
    const result = await fetchAccount(
      { ...runtime, clock: { now: Date.now }, log: runtime.logger },
      ref,
      bill_date,
    );
    runtime.logger.info('statement', { ...result });
    return result;
  }
  return middy(fetch).use(injectLambdaContext(runtime.logger, { resetKeys: true }));
}

/** Records what each account's fetches came to (the day's accounts file) and alarms on those without one. */
export function recordFunction(runtime: RecordRuntime): Handler<unknown, RecordSummary> {
  async function record(input: unknown) {
    const { bill_date, accounts } = parse(recordInput, input);
    const summary = await recordAccounts(runtime, bill_date, accounts);
    runtime.logger.info('statement accounts recorded', { bill_date, ...summary });
    return summary;
  }
  return middy(record).use(injectLambdaContext(runtime.logger, { resetKeys: true }));
}

/** Publishes the day's discrepancies per channel and class (finance/sql/reconciliation-totals.sql's rows). */
export function publishFunction(
  runtime: PublishRuntime,
): Handler<unknown, { bill_date: string; discrepancies: number }> {
  async function publish(input: unknown) {
    const { bill_date, result_set } = parse(totalsInput, input);
    const totals = totalsOf(result_set.Rows);
    const discrepancies = publishDiscrepancies(runtime.telemetry, totals);
    runtime.logger.info('discrepancies', { bill_date, discrepancies, totals });
    return { bill_date, discrepancies };
  }
  return middy(publish).use(injectLambdaContext(runtime.logger, { resetKeys: true }));
}

const whole = z.pipe(
  z.string().check(z.regex(/^\d+$/, 'must be a whole number')),
  z.transform((text: string) => Number(text)),
);
const totalRow = z.object({
  channel: id,
  class: z.enum(discrepancyClasses),
  discrepancies: whole,
  fen: whole,
});

/** The result set's rows by its header row's names, each checked (Athena gives every value as text). */
function totalsOf(rows: readonly { Data: readonly { VarCharValue?: string }[] }[]): DiscrepancyTotal[] {
  const [header, ...lines] = rows;
  const names = (header?.Data ?? []).map((cell) => cell.VarCharValue ?? '');
  return lines.map((line) =>
    parse(totalRow, Object.fromEntries(names.map((name, i) => [name, line.Data[i]?.VarCharValue]))),
  );
}
