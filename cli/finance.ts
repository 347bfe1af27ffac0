import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { financePrefixes, settlementTimeZone } from '#finance/catalog.ts';
import { FinanceDuckDb, type QueryResult } from '#finance/duckdb.ts';
import { writeLocalExport } from '#finance/local-export.ts';
import { readReconcileSql, registerStatementTables } from '#finance/reconcile.ts';
import { type ReportName, readSql, reconcileParameters, reportNames } from '#finance/sql.ts';

const date = (name: string) => (value: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD`);
  return value;
};

/** Today in the settlement time zone: the date the reports default to. */
function today(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: settlementTimeZone }).format(new Date());
}

/** A progress line on stderr (rewritten in place on a terminal), so stdout holds only the result. */
function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
  else process.stderr.write(`${message}\n`);
}
function progressDone(message: string): void {
  progress(message);
  if (process.stderr.isTTY) process.stderr.write('\n');
}

/** `micropay export` and `micropay report`: the finance exports and the reports over them. */
export function financeCommands(program: Command): void {
  program
    .command('export')
    .description(
      "export the orders table in DynamoDB's export format and build the curated tables (orders, refunds): locally under --root " +
        '(DuckDB), or in AWS by starting the stack’s export state machine (--state-machine)',
    )
    .addOption(
      new Option('--orders-table <name>', 'orders table').env('ORDERS_TABLE').default('micropay-orders'),
    )
    .option('--root <dir>', 'local root the export and curated table are written under', '.local')
    .addOption(
      new Option(
        '--state-machine <arn>',
        'AWS: the export state machine (stack output FinanceExportStateMachineArn); starts the real export',
      ).env('FINANCE_EXPORT_STATE_MACHINE_ARN'),
    )
    .option('--wait', 'AWS: wait until the export and curate have finished')
    .action(async (opts) => {
      if (opts.stateMachine) {
        await startAwsExport(String(opts.stateMachine), Boolean(opts.wait));
        return;
      }
      const started = performance.now();
      progress(`export: scanning ${opts.ordersTable}…`);
      const dynamo = new DynamoDBClient({});
      const exported = await writeLocalExport({ dynamo, table: opts.ordersTable, root: opts.root });
      dynamo.destroy();
      progress(`export: ${exported.itemCount} items written; curating…`);
      const db = await FinanceDuckDb.open(opts.root);
      try {
        const curated = await db.curateSnapshot(exported.dt, exported.exportId);
        progressDone(
          `export: ${exported.itemCount} items in ${(performance.now() - started).toFixed(0)} ms; curated ${curated.orders} orders, ${curated.refunds} refunds`,
        );
      } finally {
        db.close();
      }
      console.log(`export ${exported.exportId}  dt=${exported.dt}  ${exported.itemCount} items`);
      console.log(`  raw      ${exported.dir}/data/`);
      console.log(`  curated  ${opts.root}/${financePrefixes.curated}dt=${exported.dt}/`);
      console.log(`  refunds  ${opts.root}/${financePrefixes.curatedRefunds}dt=${exported.dt}/`);
    });

  program
    .command('report')
    .description(
      `run a finance report (the SQL file of that name in finance/sql/) over the local curated table with DuckDB: ${reportNames.join(', ')}, reconciliation`,
    )
    .argument('<name>', `report: ${reportNames.join(', ')}, reconciliation (after micropay reconcile)`)
    .option(
      '--date <YYYY-MM-DD>',
      `settlement date (${settlementTimeZone}); ledger: the first date (default today)`,
      date('--date'),
    )
    .option('--to <YYYY-MM-DD>', 'ledger: the last date (default --date)', date('--to'))
    .option('--merchant <id>', 'merchant_id (ledger: required; others: keep only its rows)')
    .addOption(
      new Option('--format <format>', 'output').choices(['table', 'csv', 'json', 'parquet']).default('table'),
    )
    .option('--out <file>', 'parquet: the file to write (default <name>.parquet)')
    .option('--root <dir>', 'local root the export was written under', '.local')
    .option('--all', 'reconciliation: the matched rows too')
    .action(async (name: string, opts) => {
      if (name === 'reconciliation') {
        await reconciliationReport(opts);
        return;
      }
      if (!(reportNames as readonly string[]).includes(name))
        throw new InvalidArgumentError(
          `no report ${name}: choose ${[...reportNames, 'reconciliation'].join(', ')}`,
        );
      const report = name as ReportName;
      const first = opts.date ?? today();
      const parameters: Record<ReportName, string[]> = {
        'daily-settlement': [first],
        'open-orders': [],
        ledger: [opts.merchant, first, opts.to ?? first],
      };
      if (report === 'ledger' && !opts.merchant) throw new InvalidArgumentError('ledger needs --merchant');
      const started = performance.now();
      progress(`report ${report}: opening ${opts.root}…`);
      const db = await FinanceDuckDb.open(opts.root);
      try {
        const snapshot = db.snapshots().at(-1);
        if (snapshot === undefined)
          throw new InvalidArgumentError(`no curated export under ${opts.root}: run micropay export first`);
        progress(`report ${report}: running over snapshot dt=${snapshot}…`);
        if (opts.format === 'parquet') {
          const out = opts.out ?? `${report}.parquet`;
          const only = opts.merchant && report !== 'ledger';
          const sql = only
            ? `SELECT * FROM (${readSql(report)}) AS r WHERE r.merchant_id = ?`
            : readSql(report);
          await db.toParquet(sql, only ? [...parameters[report], opts.merchant] : parameters[report], out);
          progressDone(
            `report ${report}: written to ${out} in ${(performance.now() - started).toFixed(0)} ms`,
          );
          return;
        }
        const result = await db.report(report, parameters[report]);
        const rows = result.rows.filter((row) => !opts.merchant || row.merchant_id === opts.merchant);
        progressDone(
          `report ${report}: ${rows.length} rows (snapshot dt=${snapshot}) in ${(performance.now() - started).toFixed(0)} ms`,
        );
        const shown = { columns: result.columns, rows };
        if (opts.format === 'json') process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else if (opts.format === 'csv') process.stdout.write(toCsv(shown));
        else process.stdout.write(toTable(shown));
      } finally {
        db.close();
      }
    });
}

/**
 * `micropay report reconciliation --date`: one row per payment or refund of the day that is not `matched` (all of
 * them with `--all`), with SPEC section 9's columns, from the statements `micropay reconcile` kept.
 */
async function reconciliationReport(opts: Record<string, unknown>): Promise<void> {
  const day = typeof opts.date === 'string' ? opts.date : undefined;
  if (!day) throw new InvalidArgumentError('reconciliation needs --date');
  const db = await FinanceDuckDb.open(String(opts.root));
  try {
    await registerStatementTables(db, String(opts.root));
    const result = await db.query(readReconcileSql(), reconcileParameters(day));
    const rows = result.rows.filter(
      (row) => (opts.all || row.class !== 'matched') && (!opts.merchant || row.merchant_id === opts.merchant),
    );
    const shown = { columns: result.columns, rows };
    if (opts.format === 'json') process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (opts.format === 'csv') process.stdout.write(toCsv(shown));
    else process.stdout.write(toTable(shown));
    for (const line of await accountsWithoutStatement(db, day)) console.error(line);
    if (rows.some((row) => row.class !== 'matched')) process.exitCode = 1;
  } finally {
    db.close();
  }
}

/** "No statement available from this channel" (or not fetched yet), one line per account of the day. */
async function accountsWithoutStatement(db: FinanceDuckDb, day: string): Promise<string[]> {
  const { rows } = await db.query(
    "SELECT DISTINCT channel, account, status, said FROM statement_accounts WHERE bill_date = ? AND status <> 'fetched' ORDER BY channel, account",
    [day],
  );
  const what: Record<string, string> = {
    no_statement: 'no statement available from this channel',
    not_published: 'statement not published yet: run micropay reconcile again later',
    unknown: 'statement not fetched: run micropay reconcile again',
  };
  return rows.map(
    (r) => `${r.channel} ${r.account}: ${what[String(r.status)] ?? r.status}${r.said ? ` (${r.said})` : ''}`,
  );
}

/** Starts the deployed export state machine with the caller's credentials; with `wait`, follows it to the end. */
async function startAwsExport(stateMachineArn: string, wait: boolean): Promise<void> {
  const sfn = new SFNClient({});
  try {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: `cli-${Date.now()}`, input: '{}' }),
    );
    console.log(`export started: ${executionArn}`);
    if (!wait) return;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      progress(`export: ${status}`);
      if (status !== 'RUNNING') {
        progressDone(`export: ${status}`);
        if (status !== 'SUCCEEDED') process.exitCode = 1;
        return;
      }
    }
  } finally {
    sfn.destroy();
  }
}

function text(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/** RFC 4180 CSV: a header line, fields quoted when they hold a comma, quote or line break; NULL is empty. */
export function toCsv(result: QueryResult): string {
  const field = (value: unknown) => {
    const t = text(value);
    return /[",\r\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
  };
  const lines = [result.columns.map((c) => field(c.name)).join(',')];
  for (const row of result.rows) lines.push(result.columns.map((c) => field(row[c.name])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Aligned columns for a terminal; numbers right-aligned. */
function toTable(result: QueryResult): string {
  const numeric = (type: string) => /INT|DECIMAL|DOUBLE|FLOAT/.test(type);
  const widths = result.columns.map((c) =>
    Math.max(c.name.length, ...result.rows.map((row) => text(row[c.name]).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const column = result.columns[i];
        const width = widths[i] ?? 0;
        return column && numeric(column.type) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const out = [line(result.columns.map((c) => c.name)), line(widths.map((w) => '-'.repeat(w)))];
  for (const row of result.rows) out.push(line(result.columns.map((c) => text(row[c.name]))));
  if (result.rows.length === 0) out.push('(no rows)');
  return `${out.join('\n')}\n`;
}
