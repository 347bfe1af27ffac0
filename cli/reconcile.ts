import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type SFNClient,
  SFNClient as Sfn,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { awsClientConfig } from '#adapters/aws-config.ts';
import { listMerchantIds } from '#adapters/merchant-admin.ts';
import type { Merchant } from '#core/merchants.ts';
import { FinanceDuckDb } from '#finance/duckdb.ts';
import { writeLocalExport } from '#finance/local-export.ts';
import { type ReconcileRun, reconcileLocally } from '#finance/reconcile.ts';
import { createRuntime } from '../functions/shared/runtime.ts';

/**
 * Reconciles one settlement day locally (SPEC section 9): exports and curates the orders, fetches every channel
 * account's statement of the day from the channels the environment names (local mode: the sandboxes), and
 * compares them. `env` is the gateway's (`npm start` writes it to `.local/local.env`).
 */
export async function runLocalReconcile(options: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly root: string;
  readonly billDate: string;
  readonly withMatched?: boolean;
}): Promise<ReconcileRun> {
  const env = { ...options.env, POWERTOOLS_METRICS_DISABLED: 'true' };
  const runtime = createRuntime(env);
  const dynamo = new DynamoDBClient(awsClientConfig(env, 'AWS_ENDPOINT_URL_DYNAMODB'));
  try {
    const exported = await writeLocalExport({
      dynamo,
      table: runtime.config.ORDERS_TABLE,
      root: options.root,
    });
    const merchants: Merchant[] = [];
    for (const id of await listMerchantIds(dynamo, runtime.config.MERCHANTS_TABLE)) {
      const merchant = await runtime.ports.merchants.get(id);
      if (merchant) merchants.push(merchant);
    }
    const db = await FinanceDuckDb.open(options.root);
    try {
      await db.curateSnapshot(exported.dt, exported.exportId);
      return await reconcileLocally({
        root: options.root,
        billDate: options.billDate,
        merchants,
        channels: runtime.ports.channels,
        log: runtime.ports.log,
        db,
        deadlineScale: runtime.ports.deadlineScale,
        withMatched: options.withMatched,
      });
    } finally {
      db.close();
    }
  } finally {
    dynamo.destroy();
  }
}

/** What a reconciliation run in AWS ended with (the state machine's output, statemachines/reconciliation.asl.json). */
export interface AwsReconcileRun {
  readonly executionArn: string;
  readonly status: string;
  readonly output?: {
    readonly bill_date: string;
    readonly accounts: Readonly<Record<string, number>>;
    readonly missing: ReadonlyArray<{ channel: string; account: string; status: string; said?: string }>;
    readonly discrepancies: number;
  };
  readonly error?: string;
  readonly cause?: string;
}

/** What each state of the run is doing, as a person reads it. */
const stepNames: Readonly<Record<string, string>> = {
  ListAccounts: 'listing the channel accounts',
  FetchRound: 'fetching statements',
  WaitForPublication: 'waiting an hour for statements not published yet',
  Record: 'recording the accounts',
  ListDiscrepancies: 'clearing an earlier comparison',
  DeleteDiscrepancies: 'clearing an earlier comparison',
  Compare: 'comparing in Athena',
  Totals: 'counting the discrepancies',
  Publish: 'publishing the metrics',
};

/**
 * Starts the stack's reconciliation state machine for `billDate` with the caller's credentials; with `wait`, follows
 * it to its end, reporting each step it enters (`progress`), and returns its output.
 */
export async function runAwsReconcile(options: {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  readonly billDate: string;
  readonly wait: boolean;
  readonly progress: (line: string) => void;
  /** @default 15 s */
  readonly pollMs?: number;
}): Promise<AwsReconcileRun> {
  const { sfn, stateMachineArn, billDate } = options;
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      name: `cli-${billDate}-${Date.now()}`,
      input: JSON.stringify({ bill_date: billDate }),
    }),
  );
  if (!executionArn) throw new Error('StartExecution returned no execution ARN');
  options.progress(`reconciliation of ${billDate} started: ${executionArn}`);
  if (!options.wait) return { executionArn, status: 'RUNNING' };
  let shown: string | undefined;
  let rounds = 0;
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const { events = [] } = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        maxResults: 20,
        includeExecutionData: false,
      }),
    );
    const entered = events.find(
      (event) => event.type?.endsWith('StateEntered') && event.stateEnteredEventDetails?.name,
    );
    const state = entered?.stateEnteredEventDetails?.name ?? '';
    if (state && entered?.id !== undefined && `${state}#${entered.id}` !== shown && stepNames[state]) {
      if (state === 'FetchRound') rounds += 1;
      shown = `${state}#${entered.id}`;
      options.progress(
        `${stepNames[state]}${state === 'FetchRound' && rounds > 1 ? ` (round ${rounds})` : ''}`,
      );
    }
    if (execution.status !== 'RUNNING') {
      return {
        executionArn,
        status: execution.status ?? 'UNKNOWN',
        ...(execution.output ? { output: JSON.parse(execution.output) } : {}),
        ...(execution.error ? { error: execution.error } : {}),
        ...(execution.cause ? { cause: execution.cause } : {}),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 15_000));
  }
}

/** The lines `micropay reconcile --state-machine` prints when the run has ended. */
export function awsRunSummary(run: AwsReconcileRun): { lines: string[]; ok: boolean } {
  if (run.status !== 'SUCCEEDED' || !run.output)
    return {
      lines: [
        `reconciliation ${run.status}${run.error ? `: ${run.error}` : ''}${run.cause ? ` ${run.cause}` : ''}`,
      ],
      ok: false,
    };
  const { bill_date, accounts, missing, discrepancies } = run.output;
  const lines = [
    `${bill_date}: accounts ${Object.entries(accounts)
      .map(([kind, count]) => `${kind} ${count}`)
      .join('  ')}`,
    ...missing.map(
      (m) =>
        `${m.channel.padEnd(10)} ${m.account.padEnd(24)} ${m.status === 'not_published' ? 'not published after a day' : 'not fetched'}${m.said ? ` (${m.said})` : ''}`,
    ),
    discrepancies > 0
      ? `${discrepancies} rows need a person: the reconciliation-discrepancies query in Athena (workgroup micropay-finance), parameter '${bill_date}'`
      : `${bill_date}: no discrepancies`,
  ];
  return { lines, ok: discrepancies === 0 && missing.length === 0 };
}

/** Whether `value` (YYYY-MM-DD) names a day of the calendar: 2026-02-30 and 2026-13-01 do not. */
const isCalendarDate = (value: string) => {
  const day = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
};

const billDateOption = (value: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || !isCalendarDate(value))
    throw new InvalidArgumentError('--date must be a date YYYY-MM-DD');
  return value;
};

/** `micropay reconcile --date`: the local run (a line per account, the count per class), or the stack's run in AWS. */
export function reconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      "fetch every channel account's statement of a settlement day and compare it with the orders and refunds " +
        '(local mode: from the sandboxes, with --env-file .local/local.env; then `micropay report reconciliation`), ' +
        "or in AWS by starting the stack's reconciliation state machine (--state-machine)",
    )
    .requiredOption('--date <YYYY-MM-DD>', 'the settlement day (UTC+8), e.g. yesterday', billDateOption)
    .option('--root <dir>', 'local root the statements, export and results are kept under', '.local')
    .addOption(
      new Option(
        '--state-machine <arn>',
        'AWS: the reconciliation state machine (stack output ReconciliationStateMachineArn); starts the real run',
      ).env('RECONCILIATION_STATE_MACHINE_ARN'),
    )
    .option('--no-wait', 'AWS: start the run and return (it may wait up to a day for a late statement)')
    .action(async (opts) => {
      if (opts.stateMachine) {
        const sfn = new Sfn({});
        try {
          const run = await runAwsReconcile({
            sfn,
            stateMachineArn: String(opts.stateMachine),
            billDate: opts.date,
            wait: Boolean(opts.wait),
            progress: (line) => process.stderr.write(`${line}\n`),
          });
          if (run.status === 'RUNNING') return;
          const { lines, ok } = awsRunSummary(run);
          for (const line of lines) console.log(line);
          if (!ok) process.exitCode = 1;
        } finally {
          sfn.destroy();
        }
        return;
      }
      const run = await runLocalReconcile({ env: process.env, root: opts.root, billDate: opts.date });
      for (const { channel, account, merchant_ids, result } of run.accounts) {
        const said = 'said' in result ? ` (${result.said})` : '';
        const what = {
          fetched: `statement fetched${'rows' in result ? `, ${result.rows} rows` : ''}`,
          kept: 'statement already kept',
          not_published: `not published yet${said}: run again later`,
          unknown: `not fetched${said}: run again`,
          no_statement: 'no statement available from this channel',
        }[result.kind];
        console.log(
          `${channel.padEnd(10)} ${account.padEnd(24)} ${merchant_ids.join(',').padEnd(24)} ${what}`,
        );
      }
      const classes = ['matched', 'missing_local', 'missing_channel', 'amount_mismatch', 'state_mismatch'];
      console.log(`\n${run.billDate}: ${classes.map((c) => `${c} ${run.classes[c]?.rows ?? 0}`).join('  ')}`);
      const atRisk = run.discrepancies.rows.length;
      if (atRisk > 0) {
        console.log(`${atRisk} rows need a person: micropay report reconciliation --date ${run.billDate}`);
        process.exitCode = 1;
      }
    });
}
