import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Command, InvalidArgumentError } from 'commander';
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

/** `micropay reconcile --date`: the local run, with a line per account and the count per class. */
export function reconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      "fetch every channel account's statement of a settlement day and compare it with the orders and refunds " +
        '(local mode: from the sandboxes, with --env-file .local/local.env); then `micropay report reconciliation`',
    )
    .requiredOption('--date <YYYY-MM-DD>', 'the settlement day (UTC+8), e.g. yesterday', (value: string) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidArgumentError('--date must be YYYY-MM-DD');
      return value;
    })
    .option('--root <dir>', 'local root the statements, export and results are kept under', '.local')
    .action(async (opts) => {
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
