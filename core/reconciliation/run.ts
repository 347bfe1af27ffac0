import type { MerchantDirectory } from '#core/ports.ts';
import {
  type AccountResult,
  accountLines,
  type FetchPorts,
  fetchStatement,
  type StatementAccount,
  type StatementStore,
  statementAccounts,
} from './statements.ts';

/**
 * The steps of a reconciliation run in AWS (SPEC section 9), one per function the state machine invokes
 * (statemachines/reconciliation.asl.json): list the day's accounts, fetch each one's statement, record what each
 * came to, and, once Athena has compared, publish the discrepancies. Between steps only ids travel: an account
 * is named by its channel, account and merchants, never by its credentials, which each step reads itself.
 */

/** The classes of the comparison that are money at risk (every one but `matched`). */
export const discrepancyClasses = [
  'missing_local',
  'missing_channel',
  'amount_mismatch',
  'state_mismatch',
] as const;
export type DiscrepancyClass = (typeof discrepancyClasses)[number];

/** What operators watch of reconciliation (CloudWatch metrics in AWS, which alarm). */
export interface ReconciliationTelemetry {
  /** An account has no statement after the run's retries: not published (yet), or not fetched. */
  statementMissing(channel: string, status: 'not_published' | 'unknown'): void;
  /** One class of one channel's discrepancies of a day: how many rows, and the fen at risk. */
  discrepancies(channel: string, cls: DiscrepancyClass, count: number, fen: number): void;
}

/** An account as the run passes it between steps: no credentials. */
export interface AccountRef {
  readonly channel: string;
  readonly account: string;
  readonly merchant_ids: readonly string[];
  /** Whether the channel publishes statements at all (false: every fetch answers `no_statement`). */
  readonly statement: boolean;
}

/** Every channel account the merchants route to (the merchants looked up by id, keys included, then let go). */
export async function listAccounts(
  ports: { readonly merchants: MerchantDirectory; readonly channels: FetchPorts['channels'] },
  merchantIds: readonly string[],
): Promise<AccountRef[]> {
  return (await accountsOf(ports, merchantIds)).map(refOf);
}

/**
 * Fetches one account's statement of `billDate` (fetchStatement), the account found again from its merchants: an
 * account no merchant routes to any more is `unknown`, said `NO_SUCH_ACCOUNT`.
 */
export async function fetchAccount(
  ports: FetchPorts & { readonly merchants: MerchantDirectory },
  ref: Pick<AccountRef, 'channel' | 'account' | 'merchant_ids'>,
  billDate: string,
): Promise<AccountResult> {
  const accounts = await accountsOf(ports, ref.merchant_ids);
  const account = accounts.find((a) => a.channel === ref.channel && a.account === ref.account);
  if (!account) return { kind: 'unknown', said: 'NO_SUCH_ACCOUNT' };
  return fetchStatement(ports, account, billDate);
}

/** What the run's fetches came to, per account: the last answer after its retries. */
export type FetchedAccount = Pick<AccountRef, 'channel' | 'account' | 'merchant_ids'> & {
  readonly result: AccountResult;
};

/** How many accounts ended in each way. */
export type RecordSummary = Readonly<
  Record<'fetched' | 'not_published' | 'unknown' | 'no_statement', number>
>;

/**
 * Records the day's accounts (the comparison reads which merchants each fetched statement covers) and reports
 * each account still without a statement: after a day of retries, that alarms.
 */
export async function recordAccounts(
  ports: { readonly statements: StatementStore; readonly telemetry: ReconciliationTelemetry },
  billDate: string,
  accounts: readonly FetchedAccount[],
): Promise<RecordSummary> {
  await ports.statements.record(billDate, accountLines(billDate, accounts));
  const summary = { fetched: 0, not_published: 0, unknown: 0, no_statement: 0 };
  for (const { channel, result } of accounts) {
    const kind = result.kind === 'kept' ? 'fetched' : result.kind;
    summary[kind] += 1;
    if (kind === 'not_published' || kind === 'unknown') ports.telemetry.statementMissing(channel, kind);
  }
  return summary;
}

/** One line of finance/sql/reconciliation-totals.sql. */
export interface DiscrepancyTotal {
  readonly channel: string;
  readonly class: DiscrepancyClass;
  readonly discrepancies: number;
  readonly fen: number;
}

/** Publishes a day's discrepancies per channel and class; returns how many rows need a person. */
export function publishDiscrepancies(
  telemetry: ReconciliationTelemetry,
  totals: readonly DiscrepancyTotal[],
): number {
  let atRisk = 0;
  for (const total of totals) {
    telemetry.discrepancies(total.channel, total.class, total.discrepancies, total.fen);
    atRisk += total.discrepancies;
  }
  return atRisk;
}

async function accountsOf(
  ports: { readonly merchants: MerchantDirectory; readonly channels: FetchPorts['channels'] },
  merchantIds: readonly string[],
): Promise<StatementAccount[]> {
  const merchants = [];
  for (const id of merchantIds) {
    const merchant = await ports.merchants.get(id);
    if (merchant) merchants.push(merchant);
  }
  return statementAccounts(merchants, ports.channels);
}

function refOf({ channel, account, merchant_ids, context }: StatementAccount): AccountRef {
  return { channel, account, merchant_ids, statement: context !== undefined };
}
