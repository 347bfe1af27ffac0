import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Merchant } from '#core/merchants.ts';
import type { ChannelRegistry, Log } from '#core/ports.ts';
import {
  type AccountResult,
  accountLines,
  fetchStatement,
  type StatementAccount,
  type StatementStore,
  statementAccounts,
} from '#core/reconciliation/statements.ts';
import {
  billDateColumn,
  type CuratedColumn,
  discrepancyColumns,
  duckDbType,
  reconciliationTables,
  statementAccountColumns,
  statementKeys,
  statementPrefixes,
  statementRowColumns,
} from './catalog.ts';
import type { FinanceDuckDb, QueryResult } from './duckdb.ts';
import { readSql, reconcileParameters } from './sql.ts';

export { statementPrefixes };

/** Statements kept as files under `root`: the local stand-in of the exports bucket, with the bucket's keys. */
export function fileStatementStore(root: string): StatementStore {
  const write = (key: string, body: string | Buffer) => {
    const file = join(root, key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  };
  const jsonLines = (items: readonly object[]) =>
    items.length ? `${items.map((item) => JSON.stringify(item)).join('\n')}\n` : '';
  return {
    async has(channel, account, billDate) {
      return existsSync(join(root, statementKeys.raw(channel, account, billDate)));
    },
    async put(channel, account, billDate, raw, rows) {
      // Rows first, the raw file last: a statement counts as kept only once both are written.
      write(
        statementKeys.rows(channel, account, billDate),
        jsonLines(rows.map((row) => ({ channel, account, ...row }))),
      );
      write(statementKeys.raw(channel, account, billDate), raw);
    },
    async record(billDate, lines) {
      write(statementKeys.accounts(billDate), jsonLines(lines));
    },
  };
}

export interface ReconcileRun {
  readonly billDate: string;
  readonly accounts: ReadonlyArray<StatementAccount & { readonly result: AccountResult }>;
  /** Rows and fen per class, `matched` included. */
  readonly classes: Readonly<Record<string, { readonly rows: number; readonly fen: number }>>;
  /** The rows that are not `matched` (every row with `withMatched`). */
  readonly discrepancies: QueryResult;
}

/**
 * `micropay reconcile` in local mode (SPEC section 9): fetches and keeps each account's statement of `billDate`
 * from the channels (the sandboxes), then runs finance/sql/reconcile.sql over the kept statements and the
 * latest curated snapshot (run `micropay export` first) and writes the discrepancies beside them.
 */
export async function reconcileLocally(options: {
  readonly root: string;
  readonly billDate: string;
  readonly merchants: readonly Merchant[];
  readonly channels: ChannelRegistry;
  readonly log: Log;
  readonly db: FinanceDuckDb;
  readonly deadlineScale?: number;
  /** Return the matched rows too (a day's matched rows are as many as its payments; the Parquet holds them). */
  readonly withMatched?: boolean;
}): Promise<ReconcileRun> {
  const { root, billDate } = options;
  const ports = {
    channels: options.channels,
    clock: { now: Date.now },
    log: options.log,
    statements: fileStatementStore(root),
    deadlineScale: options.deadlineScale ?? 1,
  };
  const accounts = [];
  for (const account of statementAccounts(options.merchants, options.channels)) {
    accounts.push({ ...account, result: await fetchStatement(ports, account, billDate) });
  }
  await ports.statements.record(billDate, accountLines(billDate, accounts));
  await registerStatementTables(options.db, root);
  // Compared once, into the Parquet; only the counts and the rows a person must look at come back into memory.
  const out = join(root, statementKeys.reconciliation(billDate));
  mkdirSync(out, { recursive: true });
  const parquet = join(out, 'discrepancies.parquet');
  await options.db.toParquet(readReconcileSql(), reconcileParameters(billDate), parquet);
  const from = `read_parquet('${parquet.replaceAll("'", "''")}')`;
  const counted = await options.db.query(
    `SELECT class, count(*) AS rows, sum(coalesce(channel_fee, local_fee)) AS fen FROM ${from} GROUP BY class`,
  );
  const classes = Object.fromEntries(
    counted.rows.map((row) => [String(row.class), { rows: Number(row.rows), fen: Number(row.fen ?? 0) }]),
  );
  const discrepancies = await options.db.query(
    `SELECT * FROM ${from}${options.withMatched ? '' : " WHERE class <> 'matched'"}`,
  );
  return { billDate, accounts, classes, discrepancies };
}

/** The comparison's SQL, as Athena's named query holds it. */
export function readReconcileSql(): string {
  return readSql('reconcile');
}

/**
 * `statement_rows`, `statement_accounts` and `discrepancies` over the kept files, with the columns the Glue tables
 * declare (finance/catalog.ts), `bill_date` as text as Athena's partition column is; empty tables when nothing is
 * kept yet.
 */
export async function registerStatementTables(db: FinanceDuckDb, root: string): Promise<void> {
  const files = (prefix: string, suffix: string) => {
    const dir = join(root, prefix);
    if (!existsSync(dir)) return [];
    return (readdirSync(dir, { recursive: true }) as string[])
      .filter((name) => name.endsWith(suffix))
      .map((name) => join(dir, name))
      .filter((file) => readFileSync(file).length > 0);
  };
  const typed = (columns: readonly CuratedColumn[]) => [
    ...columns.map(({ name, type }) => [name, duckDbType(type)] as const),
    [billDateColumn.name, 'VARCHAR'] as const,
  ];
  const quoted = (list: readonly string[]) =>
    `[${list.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ')}]`;
  const view = (name: string, columns: ReadonlyArray<readonly [string, string]>, source?: string) => {
    const empty = columns.map(([column, type]) => `CAST(NULL AS ${type}) AS ${column}`).join(', ');
    const names = columns.map(([column]) => column).join(', ');
    return `CREATE OR REPLACE VIEW ${name} AS ${source ? `SELECT ${names} FROM ${source}` : `SELECT ${empty} WHERE false`}`;
  };
  const json = (list: string[], columns: ReadonlyArray<readonly [string, string]>) => {
    const struct = columns.map(([column, type]) => `'${column}': '${type}'`).join(', ');
    return list.length === 0
      ? undefined
      : // Each line carries its bill_date, the folder's (bill_date=…) too: read as text from the line, as
        // Athena's partition column is text.
        `read_json(${quoted(list)}, format = 'newline_delimited', hive_partitioning = false, columns = {${struct}})`;
  };
  const rowColumns = typed(statementRowColumns);
  const accountColumns = typed(statementAccountColumns);
  await db.query(
    view(
      reconciliationTables.statementRows,
      rowColumns,
      json(files(statementPrefixes.rows, '.json'), rowColumns),
    ),
  );
  await db.query(
    view(
      reconciliationTables.statementAccounts,
      accountColumns,
      json(files(statementPrefixes.accounts, '.json'), accountColumns),
    ),
  );
  // The day is the folder's (bill_date=…), as in Athena; the Parquet files hold the comparison's columns only.
  const parquet = files(statementPrefixes.reconciliation, '.parquet');
  await db.query(
    view(
      reconciliationTables.discrepancies,
      typed(discrepancyColumns),
      parquet.length === 0
        ? undefined
        : `read_parquet(${quoted(parquet)}, hive_partitioning = true, hive_types = {'bill_date': VARCHAR})`,
    ),
  );
}
