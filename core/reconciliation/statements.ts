import type { ChannelContext, StatementRow } from '#core/channels/channel.ts';
import type { Merchant } from '#core/merchants.ts';
import type { ChannelRegistry, Clock, Log } from '#core/ports.ts';
import { scaled } from '#core/time.ts';

/** One channel account whose statement is fetched: every merchant route on it shares the one statement. */
export interface StatementAccount {
  readonly channel: string;
  readonly account: string;
  readonly merchant_ids: readonly string[];
  /** How to fetch: the first route's account and credentials (a statement is the account's, not a merchant's). */
  readonly context?: ChannelContext;
}

/**
 * Every distinct channel account the merchants route to. Accounts of a channel that publishes no statement are
 * listed too, without a context: every report says "no statement available from this channel" for them.
 */
export function statementAccounts(
  merchants: readonly Merchant[],
  channels: ChannelRegistry,
): StatementAccount[] {
  const found = new Map<
    string,
    { channel: string; account: string; merchant_ids: string[]; context?: ChannelContext }
  >();
  for (const merchant of merchants) {
    for (const route of Object.values(merchant.pay_types)) {
      if (!route) continue;
      const context = { account: route.account, credentials: merchant.secret.channels[route.channel] ?? {} };
      const statements = channels.get(route.channel)?.statements;
      const account = statements ? statements.accountOf(context) : accountLabel(route.account);
      const key = `${route.channel}\u0000${account}`;
      const entry = found.get(key) ?? { channel: route.channel, account, merchant_ids: [] };
      if (!entry.merchant_ids.includes(merchant.merchant_id)) entry.merchant_ids.push(merchant.merchant_id);
      if (statements && !entry.context) entry.context = context;
      found.set(key, entry);
    }
  }
  return [...found.values()].sort((a, b) =>
    `${a.channel}/${a.account}`.localeCompare(`${b.channel}/${b.account}`),
  );
}

/**
 * Where statements go: the file exactly as fetched, its rows for the comparison, and the day's account lines (the
 * exports bucket in AWS, files under `.local/` locally; the same keys, finance/catalog.ts `statementKeys`).
 */
export interface StatementStore {
  /** Whether the statement is kept: its raw file is written last, so a statement half written is not. */
  has(channel: string, account: string, billDate: string): Promise<boolean>;
  put(
    channel: string,
    account: string,
    billDate: string,
    raw: Buffer,
    rows: readonly StatementRow[],
  ): Promise<void>;
  /** Replaces the day's account lines: what the comparison reads as which merchants each statement covers. */
  record(billDate: string, lines: readonly AccountLine[]): Promise<void>;
}

/** What fetching one account's statement came to. */
export type AccountResult =
  | { readonly kind: 'fetched'; readonly rows: number }
  | { readonly kind: 'kept' }
  | { readonly kind: 'not_published'; readonly said: string }
  | { readonly kind: 'unknown'; readonly said: string }
  | { readonly kind: 'no_statement' };

export interface FetchPorts {
  readonly channels: ChannelRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly statements: StatementStore;
  readonly deadlineScale: number;
}

/**
 * Fetches and keeps one account's statement of `billDate` unless it is kept already. A statement the channel
 * has not published yet is reported as such (the caller fetches again later), never as an empty day.
 */
export async function fetchStatement(
  ports: FetchPorts,
  account: StatementAccount,
  billDate: string,
): Promise<AccountResult> {
  const statements = ports.channels.get(account.channel)?.statements;
  if (!statements || !account.context) return { kind: 'no_statement' };
  if (await ports.statements.has(account.channel, account.account, billDate)) return { kind: 'kept' };
  const fetched = await statements
    .fetch(account.context, billDate, scaled(60_000, ports.deadlineScale))
    .catch((error: unknown) => ({
      kind: 'unknown' as const,
      said: error instanceof Error ? error.name : 'ERROR',
    }));
  if (fetched.kind !== 'published') {
    ports.log.info('statement not fetched', {
      channel: account.channel,
      account: account.account,
      billDate,
      ...fetched,
    });
    return fetched;
  }
  await ports.statements.put(account.channel, account.account, billDate, fetched.raw, fetched.rows);
  return { kind: 'fetched', rows: fetched.rows.length };
}

/** One account's outcome of a run, per merchant it covers (the comparison reads only fetched ones). */
export interface AccountLine {
  readonly channel: string;
  readonly account: string;
  readonly merchant_id: string;
  readonly bill_date: string;
  readonly status: 'fetched' | 'not_published' | 'unknown' | 'no_statement';
  readonly said?: string;
}

/** An account and what fetching its statement came to: one line per merchant it covers. */
export function accountLines(
  billDate: string,
  accounts: ReadonlyArray<
    Pick<StatementAccount, 'channel' | 'account' | 'merchant_ids'> & { readonly result: AccountResult }
  >,
): AccountLine[] {
  return accounts.flatMap(({ channel, account, merchant_ids, result }) =>
    merchant_ids.map((merchant_id) => ({
      channel,
      account,
      merchant_id,
      bill_date: billDate,
      status: result.kind === 'kept' || result.kind === 'fetched' ? 'fetched' : result.kind,
      ...('said' in result ? { said: result.said } : {}),
    })),
  );
}

/** A stable label of an account with no statement reader: its id fields, as `name=value`, sorted. */
function accountLabel(account: Readonly<Record<string, string>>): string {
  return Object.keys(account)
    .filter((name) => /id$/.test(name))
    .sort()
    .map((name) => `${name}=${account[name]}`)
    .join(',');
}
