import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marshall } from '@aws-sdk/util-dynamodb';
import { orderKeyOf } from '#adapters/dynamo-orders.ts';
import type { Channel } from '#core/channels/channel.ts';
import { readWechatStatement } from '#core/channels/wechat/statements.ts';
import { newTradeId, orderHash } from '#core/ids.ts';
import type { Merchant } from '#core/merchants.ts';
import type { Order } from '#core/orders/order.ts';
import { FinanceDuckDb } from '#finance/duckdb.ts';
import { writeExport } from '#finance/local-export.ts';
import { reconcileLocally } from '#finance/reconcile.ts';
import { sandboxWechat } from '#sandbox/merchants.ts';
import { type WechatBillEntry, wechatBillText } from '#sandbox/wechat-bill.ts';

/**
 * Reconciliation at volume (SPEC section 9): one WeChat account's statement of N rows (default 1,000,000) against
 * N orders of the same day, locally. The orders are written straight in DynamoDB's export layout and curated (the
 * export path has its own figure in bench-finance.ts); the statement is WeChat's text as the sandbox writes it.
 * One row in 1,000 is made to differ (amount, state, missing on either side) so every class is produced. The
 * measured part, reading the statement and comparing (`reconcileLocally`: read, keep, SQL, Parquet), runs in a
 * child process so its peak memory is its own. Usage: node scripts/bench-reconcile.ts [rows]
 */
const self = fileURLToPath(import.meta.url);
const merchantId = 'M100000001';

if (process.argv[2] === '--measure') {
  await measure(process.argv[3] as string, process.argv[4] as string);
} else {
  await prepareAndMeasure(Number(process.argv[2] ?? '1000000'));
}

async function prepareAndMeasure(count: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'micropay-bench-reconcile-'));
  try {
    const started = performance.now();
    // Noon UTC+8 yesterday, so every time of the day falls on one settlement day.
    const dayStart =
      Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() - 1) -
      8 * 3600_000;
    const day = new Date(dayStart + 8 * 3600_000).toISOString().slice(0, 10);
    const orders: Record<string, unknown>[] = [];
    const entries: WechatBillEntry[] = [];
    for (let i = 0; i < count; i += 1) {
      const at = dayStart + Math.floor((i * 86_000_000) / count) + 1_000;
      const mchTradeId = `rc-${i}`;
      const tradeId = newTradeId(at, merchantId, mchTradeId);
      const fee = 100 + ((i * 7919) % 99_900);
      const planted = i % 1000;
      const order: Order = {
        merchant_id: merchantId,
        mch_trade_id: mchTradeId,
        trade_id: tradeId,
        pay_type: 'wechat.micro',
        channel: 'wechat',
        total_fee: planted === 1 ? fee + 1 : fee,
        fee_type: 'CNY',
        state: planted === 2 ? 'REVERSED' : 'PAID',
        trade_state: planted === 2 ? 4 : 0,
        body: 'Bench goods',
        auth_code_masked: '1345**********0000',
        request_fingerprint: 'bench',
        created_at: new Date(at - 2_000).toISOString(),
        updated_at: new Date(at).toISOString(),
        paid_at: new Date(at).toISOString(),
        time_end: Math.floor(at / 1000),
        cash_fee: fee,
        ch_trade_id: `4200${String(i).padStart(24, '0')}`,
        settlement: [{ at: new Date(at).toISOString(), action: 'pay', result: 'SUCCESS' }],
        version: 3,
      };
      // 3: only the gateway has it; 4: only the channel has it.
      if (planted !== 4) {
        const key = orderKeyOf(merchantId, orderHash(merchantId, mchTradeId));
        orders.push(marshall({ ...order, order_key: key }, { removeUndefinedValues: true }));
      }
      if (planted !== 3) {
        entries.push({
          time: at,
          kind: 'pay',
          appid: sandboxWechat.account.appid,
          mch_id: sandboxWechat.account.mch_id,
          out_trade_no: tradeId,
          transaction_id: order.ch_trade_id as string,
          body: 'Bench goods',
          total_fee: fee,
        });
      }
    }
    const files = Array.from({ length: 8 }, (_, f) => orders.filter((_, i) => i % 8 === f));
    orders.length = 0;
    const exported = writeExport({
      root,
      tableArn: 'arn:aws:dynamodb:local:000000000000:table/micropay-orders',
      exportTime: new Date(),
      files: files as never,
    });
    const db = await FinanceDuckDb.open(root);
    try {
      await db.curateSnapshot(exported.dt, exported.exportId);
    } finally {
      db.close();
    }
    const statement = join(root, 'bench-statement.txt');
    writeFileSync(statement, wechatBillText(entries));
    const prepared = performance.now() - started;
    const child = spawnSync(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', self, '--measure', root, day],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (child.status !== 0) throw new Error(`measure failed: ${child.stderr}`);
    const m = JSON.parse(child.stdout) as Measured;
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
    console.log(
      `\nReconciliation, one WeChat statement of ${m.statementRows} rows against ${count - count / 1000} orders of ${day}`,
    );
    console.log(
      `  (inputs made in ${(prepared / 1000).toFixed(1)} s: export layout, curate, statement ${mib(m.statementBytes)})`,
    );
    console.log(
      `  ${'read the statement (readWechatStatement)'.padEnd(46)} ${m.readMs.toFixed(0).padStart(7)} ms`,
    );
    console.log(
      `  ${'reconcile: read, keep, compare, Parquet'.padEnd(46)} ${m.reconcileMs.toFixed(0).padStart(7)} ms`,
    );
    console.log(
      `  ${'peak memory (RSS of the process that did it)'.padEnd(46)} ${mib(m.maxRssBytes).padStart(10)}`,
    );
    console.log(
      `  classes: ${Object.entries(m.classes)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface Measured {
  readonly statementRows: number;
  readonly statementBytes: number;
  readonly readMs: number;
  readonly reconcileMs: number;
  readonly maxRssBytes: number;
  readonly classes: Record<string, number>;
}

/** The measured part, in its own process: the statement read alone, then the whole local run on it. */
async function measure(root: string, day: string): Promise<void> {
  const raw = readFileSync(join(root, 'bench-statement.txt'));
  const readStarted = performance.now();
  const rows = readWechatStatement(raw, day);
  const readMs = performance.now() - readStarted;
  const statementRows = rows.length;
  // The channel serves the kept file; reading it is part of the run, as in `micropay reconcile`.
  const channel = {
    name: 'wechat',
    statements: {
      source: 'bench',
      accountOf: (ctx) => ctx.account.mch_id ?? '',
      fetch: async (_ctx, billDate) => ({ kind: 'published', raw, rows: readWechatStatement(raw, billDate) }),
      read: readWechatStatement,
    },
  } as Pick<Channel, 'name' | 'statements'> as Channel;
  const merchant: Merchant = {
    merchant_id: merchantId,
    status: 0,
    pay_types: { 'wechat.micro': { channel: 'wechat', account: sandboxWechat.account } },
    secret: { api_key: 'bench', channels: { wechat: sandboxWechat.credentials } },
  };
  mkdirSync(root, { recursive: true });
  const db = await FinanceDuckDb.open(root);
  const started = performance.now();
  const run = await reconcileLocally({
    root,
    billDate: day,
    merchants: [merchant],
    channels: { get: (name) => (name === 'wechat' ? channel : undefined) },
    log: { info() {}, warn() {}, error() {} } as never,
    db,
  });
  const reconcileMs = performance.now() - started;
  db.close();
  const classes = Object.fromEntries(Object.entries(run.classes).map(([name, { rows }]) => [name, rows]));
  const measured: Measured = {
    statementRows,
    statementBytes: raw.byteLength,
    readMs,
    reconcileMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    classes,
  };
  process.stdout.write(JSON.stringify(measured));
}
