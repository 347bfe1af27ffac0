import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { describe, it } from 'vitest';
import { emfReconciliationTelemetry } from '#adapters/emf-telemetry.ts';
import { S3StatementStore } from '#adapters/s3-statements.ts';
import type { ChannelContext, StatementFetch, StatementRow } from '#core/channels/channel.ts';
import type { Merchant } from '#core/merchants.ts';
import type { ChannelRegistry, MerchantDirectory } from '#core/ports.ts';
import {
  fetchAccount,
  listAccounts,
  publishDiscrepancies,
  type ReconciliationTelemetry,
  recordAccounts,
} from '#core/reconciliation/run.ts';
import type { AccountLine, StatementStore } from '#core/reconciliation/statements.ts';
import { accountsFunction, publishFunction, recordFunction } from '../../functions/reconcile/reconcile.ts';

/**
 * The AWS half of reconciliation without AWS: the S3 statement store against a fake S3 client that keeps objects
 * as S3 would (a key's whole body, listing by prefix), the run's steps with fake merchants and channels, and the
 * functions' handling of what the state machine gives them.
 */

/** S3 as the store uses it: PutObject keeps a body under a key, ListObjectsV2 counts keys under a prefix. */
class FakeS3 {
  readonly objects = new Map<string, { body: Buffer; contentType?: string }>();
  readonly calls: string[] = [];

  private readonly bucket = 'exports-bucket';

  readonly send = async (command: unknown): Promise<unknown> => {
    if (command instanceof PutObjectCommand) {
      const { Bucket, Key, Body, ContentType } = command.input;
      assert.equal(Bucket, this.bucket);
      assert.ok(Key);
      this.calls.push(`put ${Key}`);
      this.objects.set(Key, { body: Buffer.from(Body as string | Buffer), contentType: ContentType });
      return { ETag: '"etag"' };
    }
    if (command instanceof ListObjectsV2Command) {
      const { Bucket, Prefix = '', MaxKeys = 1000 } = command.input;
      assert.equal(Bucket, this.bucket);
      this.calls.push(`list ${Prefix}`);
      const keys = [...this.objects.keys()].filter((key) => key.startsWith(Prefix)).slice(0, MaxKeys);
      return { KeyCount: keys.length, ...(keys.length ? { Contents: keys.map((Key) => ({ Key })) } : {}) };
    }
    throw new Error(`no fake for ${(command as object).constructor.name}`);
  };

  client(): S3Client {
    return this as unknown as S3Client;
  }
}

const row = (out_trade_no: string, fee: number): StatementRow => ({
  bill_date: '2026-12-01',
  kind: 'pay',
  out_trade_no,
  fee,
  state: 'paid',
  channel_state: 'SUCCESS',
});

describe('the S3 statement store', () => {
  it('keeps the raw file byte for byte, its rows as JSON lines, under the local store’s keys', async () => {
    const s3 = new FakeS3();
    const store = new S3StatementStore({ s3: s3.client(), bucket: 'exports-bucket' });
    const raw = Buffer.from([0x60, 0xe4, 0xba, 0xa4, 0x0d, 0x0a, 0xff]);
    await store.put('wechat', '1900000109/1900000110', '2026-12-01', raw, [row('a', 1), row('b', 2)]);
    const rawKey =
      'statements/raw/channel=wechat/account=1900000109%2F1900000110/bill_date=2026-12-01/statement';
    const rowsKey =
      'statements/rows/bill_date=2026-12-01/channel=wechat/account=1900000109%2F1900000110.json';
    assert.deepEqual(s3.objects.get(rawKey)?.body, raw);
    const lines = String(s3.objects.get(rowsKey)?.body)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines, [
      { channel: 'wechat', account: '1900000109/1900000110', ...row('a', 1) },
      { channel: 'wechat', account: '1900000109/1900000110', ...row('b', 2) },
    ]);
    // Rows first: a statement whose raw file is there has its rows.
    assert.deepEqual(s3.calls, [`put ${rowsKey}`, `put ${rawKey}`]);
  });

  it('says a statement is kept once its raw file is written, and not before', async () => {
    const s3 = new FakeS3();
    const store = new S3StatementStore({ s3: s3.client(), bucket: 'exports-bucket' });
    assert.equal(await store.has('alipay', '2088', '2026-12-01'), false);
    await store.put('alipay', '2088', '2026-12-01', Buffer.from('zip'), []);
    assert.equal(await store.has('alipay', '2088', '2026-12-01'), true);
    assert.equal(await store.has('alipay', '2088', '2026-12-02'), false);
    assert.equal(await store.has('alipay', '208', '2026-12-01'), false);
  });

  it('writes an empty rows file for a statement of no payments (a day without sales is a statement too)', async () => {
    const s3 = new FakeS3();
    await new S3StatementStore({ s3: s3.client(), bucket: 'exports-bucket' }).put(
      'alipay',
      '2088',
      '2026-12-01',
      Buffer.from('zip'),
      [],
    );
    assert.equal(
      s3.objects.get('statements/rows/bill_date=2026-12-01/channel=alipay/account=2088.json')?.body.length,
      0,
    );
  });

  it('records the day’s account lines as one JSON lines file, replacing an earlier run’s', async () => {
    const s3 = new FakeS3();
    const store = new S3StatementStore({ s3: s3.client(), bucket: 'exports-bucket' });
    const line = (merchant_id: string, status: AccountLine['status']): AccountLine => ({
      channel: 'wechat',
      account: '1900000109',
      merchant_id,
      bill_date: '2026-12-01',
      status,
    });
    await store.record('2026-12-01', [line('M1', 'not_published')]);
    await store.record('2026-12-01', [line('M1', 'fetched'), line('M2', 'fetched')]);
    const body = String(s3.objects.get('statements/accounts/bill_date=2026-12-01/accounts.json')?.body);
    assert.deepEqual(
      body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [line('M1', 'fetched'), line('M2', 'fetched')],
    );
  });
});

// ---- The run's steps, with fake merchants and channels.

const merchant = (merchant_id: string, mch_id: string, key = `key-of-${merchant_id}`): Merchant => ({
  merchant_id,
  status: 0,
  pay_types: {
    'wechat.micro': { channel: 'wechat', account: { mch_id } },
    'alipay.micro': { channel: 'quiet', account: { app_id: `app-${merchant_id}` } },
  },
  secret: { api_key: 'k'.repeat(16), channels: { wechat: { key }, quiet: {} } },
});

const directory = (merchants: readonly Merchant[]): MerchantDirectory => ({
  get: async (id) => merchants.find((m) => m.merchant_id === id),
});

/** A channel with statements (`wechat`: the fetch answers in turn) and one without (`quiet`). */
function channels(answers: StatementFetch[] = []) {
  const asked: { ctx: ChannelContext; billDate: string }[] = [];
  const registry: ChannelRegistry = {
    get: (name) =>
      (name === 'wechat'
        ? {
            name,
            statements: {
              source: 'https://example.com/downloadbill',
              accountOf: (ctx: ChannelContext) => String(ctx.account.mch_id),
              fetch: async (ctx: ChannelContext, billDate: string) => {
                asked.push({ ctx, billDate });
                return answers.shift() ?? { kind: 'not_published', said: 'NO_BILL_EXIST' };
              },
              read: () => [],
            },
          }
        : name === 'quiet'
          ? { name }
          : undefined) as never,
  };
  return { registry, asked };
}

const log = { info: () => {}, warn: () => {}, error: () => {} };

/** A statement store in memory: the keys it was given. */
function memoryStore() {
  const kept = new Set<string>();
  const recorded: AccountLine[][] = [];
  const store: StatementStore = {
    has: async (channel, account, billDate) => kept.has(`${channel}/${account}/${billDate}`),
    put: async (channel, account, billDate) => {
      kept.add(`${channel}/${account}/${billDate}`);
    },
    record: async (_billDate, lines) => {
      recorded.push([...lines]);
    },
  };
  return { store, kept, recorded };
}

function telemetry() {
  const seen: string[] = [];
  const fake: ReconciliationTelemetry = {
    statementMissing: (channel, status) => seen.push(`missing ${channel} ${status}`),
    discrepancies: (channel, cls, count, fen) => seen.push(`${channel} ${cls} ${count} ${fen}`),
  };
  return { fake, seen };
}

describe('the reconciliation run’s steps', () => {
  it('lists each channel account once with its merchants, and no credentials', async () => {
    const merchants = [
      merchant('M1', '1900000109'),
      merchant('M2', '1900000109'),
      merchant('M3', '1900000200'),
    ];
    const listed = await listAccounts({ merchants: directory(merchants), channels: channels().registry }, [
      'M1',
      'M2',
      'M3',
    ]);
    assert.deepEqual(listed, [
      { channel: 'quiet', account: 'app_id=app-M1', merchant_ids: ['M1'], statement: false },
      { channel: 'quiet', account: 'app_id=app-M2', merchant_ids: ['M2'], statement: false },
      { channel: 'quiet', account: 'app_id=app-M3', merchant_ids: ['M3'], statement: false },
      { channel: 'wechat', account: '1900000109', merchant_ids: ['M1', 'M2'], statement: true },
      { channel: 'wechat', account: '1900000200', merchant_ids: ['M3'], statement: true },
    ]);
    assert.doesNotMatch(JSON.stringify(listed), /key-of/);
  });

  it('fetches an account with the keys of a merchant routed to it, and keeps the statement once', async () => {
    const { registry, asked } = channels([
      { kind: 'published', raw: Buffer.from('bill'), rows: [row('a', 1)] },
    ]);
    const { store, kept } = memoryStore();
    const ports = {
      merchants: directory([merchant('M1', '1900000109')]),
      channels: registry,
      statements: store,
      clock: { now: Date.now },
      log,
      deadlineScale: 1,
    };
    const ref = { channel: 'wechat', account: '1900000109', merchant_ids: ['M1'] };
    assert.deepEqual(await fetchAccount(ports, ref, '2026-12-01'), { kind: 'fetched', rows: 1 });
    assert.equal(asked[0]?.ctx.credentials.key, 'key-of-M1');
    assert.deepEqual([...kept], ['wechat/1900000109/2026-12-01']);
    assert.deepEqual(await fetchAccount(ports, ref, '2026-12-01'), { kind: 'kept' });
    assert.equal(asked.length, 1, 'a kept statement is not fetched again');
  });

  it('answers not_published while the channel has not published, and unknown for an account gone', async () => {
    const { registry } = channels([{ kind: 'not_published', said: 'NO_BILL_EXIST' }]);
    const ports = {
      merchants: directory([merchant('M1', '1900000109')]),
      channels: registry,
      statements: memoryStore().store,
      clock: { now: Date.now },
      log,
      deadlineScale: 1,
    };
    assert.deepEqual(
      await fetchAccount(
        ports,
        { channel: 'wechat', account: '1900000109', merchant_ids: ['M1'] },
        '2026-12-01',
      ),
      { kind: 'not_published', said: 'NO_BILL_EXIST' },
    );
    assert.deepEqual(
      await fetchAccount(
        ports,
        { channel: 'wechat', account: '1900000999', merchant_ids: ['M1'] },
        '2026-12-01',
      ),
      { kind: 'unknown', said: 'NO_SUCH_ACCOUNT' },
    );
    assert.deepEqual(
      await fetchAccount(
        ports,
        { channel: 'quiet', account: 'app_id=app-M1', merchant_ids: ['M1'] },
        '2026-12-01',
      ),
      { kind: 'no_statement' },
    );
  });

  it('records a line per merchant of each account, and reports each account still without a statement', async () => {
    const { store, recorded } = memoryStore();
    const { fake, seen } = telemetry();
    const summary = await recordAccounts({ statements: store, telemetry: fake }, '2026-12-01', [
      { channel: 'wechat', account: '1', merchant_ids: ['M1', 'M2'], result: { kind: 'fetched', rows: 3 } },
      { channel: 'wechat', account: '2', merchant_ids: ['M3'], result: { kind: 'kept' } },
      {
        channel: 'alipay',
        account: '3',
        merchant_ids: ['M4'],
        result: { kind: 'not_published', said: 'NO_BILL' },
      },
      { channel: 'alipay', account: '4', merchant_ids: ['M5'], result: { kind: 'unknown', said: 'TIMEOUT' } },
      { channel: 'quiet', account: '5', merchant_ids: ['M6'], result: { kind: 'no_statement' } },
    ]);
    assert.deepEqual(summary, { fetched: 2, not_published: 1, unknown: 1, no_statement: 1 });
    assert.deepEqual(seen, ['missing alipay not_published', 'missing alipay unknown']);
    assert.deepEqual(
      recorded[0]?.map((l) => `${l.merchant_id} ${l.status} ${l.said ?? ''}`.trim()),
      [
        'M1 fetched',
        'M2 fetched',
        'M3 fetched',
        'M4 not_published NO_BILL',
        'M5 unknown TIMEOUT',
        'M6 no_statement',
      ],
    );
  });

  it('publishes each channel and class of the day’s discrepancies and counts the rows at risk', () => {
    const { fake, seen } = telemetry();
    const atRisk = publishDiscrepancies(fake, [
      { channel: 'wechat', class: 'missing_local', discrepancies: 2, fen: 1000 },
      { channel: 'alipay', class: 'amount_mismatch', discrepancies: 1, fen: 1 },
    ]);
    assert.equal(atRisk, 3);
    assert.deepEqual(seen, ['wechat missing_local 2 1000', 'alipay amount_mismatch 1 1']);
  });
});

describe('reconciliation metrics in EMF', () => {
  const lines = () => {
    const written: Record<string, unknown>[] = [];
    const emf = emfReconciliationTelemetry({
      namespace: 'Micropay',
      service: 'micropay',
      write: (line) => written.push(JSON.parse(line)),
      now: () => 1_764_547_200_000,
    });
    return { emf, written };
  };

  it('counts discrepancies and their fen per channel and class, rolled up by class for the alarms', () => {
    const { emf, written } = lines();
    emf.discrepancies('wechat', 'missing_local', 2, 1000);
    assert.deepEqual(written, [
      {
        _aws: {
          Timestamp: 1_764_547_200_000,
          CloudWatchMetrics: [
            {
              Namespace: 'Micropay',
              Dimensions: [
                ['service', 'channel', 'class'],
                ['service', 'class'],
              ],
              Metrics: [{ Name: 'ReconciliationDiscrepancies', Unit: 'Count' }],
            },
          ],
        },
        service: 'micropay',
        channel: 'wechat',
        class: 'missing_local',
        ReconciliationDiscrepancies: 2,
      },
      {
        _aws: {
          Timestamp: 1_764_547_200_000,
          CloudWatchMetrics: [
            {
              Namespace: 'Micropay',
              Dimensions: [
                ['service', 'channel', 'class'],
                ['service', 'class'],
              ],
              Metrics: [{ Name: 'ReconciliationDiscrepancyFen', Unit: 'None' }],
            },
          ],
        },
        service: 'micropay',
        channel: 'wechat',
        class: 'missing_local',
        ReconciliationDiscrepancyFen: 1000,
      },
    ]);
  });

  it('counts a statement not published after a day apart from one not fetched, by channel and in all', () => {
    const { emf, written } = lines();
    emf.statementMissing('alipay', 'not_published');
    emf.statementMissing('alipay', 'unknown');
    const names = written.map((line) => {
      const [metric] = (
        line._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      ).CloudWatchMetrics;
      return [metric?.Metrics[0]?.Name, metric?.Dimensions];
    });
    assert.deepEqual(names, [
      ['StatementNotPublished', [['service', 'channel'], ['service']]],
      ['StatementNotFetched', [['service', 'channel'], ['service']]],
    ]);
  });
});

describe('the reconciliation functions, as the state machine invokes them', () => {
  const context = { functionName: 'reconcile', awsRequestId: 'r-1' } as Context;
  const logger = new Logger({ serviceName: 'micropay', logLevel: 'SILENT' });

  it('publish: reads the totals from Athena’s result set by its header, every value as text', async () => {
    const { fake, seen } = telemetry();
    const publish = publishFunction({ logger, telemetry: fake });
    const cells = (...values: string[]) => ({ Data: values.map((VarCharValue) => ({ VarCharValue })) });
    const answer = await publish(
      {
        bill_date: '2026-12-01',
        result_set: {
          Rows: [
            cells('channel', 'class', 'discrepancies', 'fen'),
            cells('wechat', 'missing_local', '2', '1000'),
            cells('alipay', 'state_mismatch', '1', '400'),
          ],
          ResultSetMetadata: { ColumnInfo: [] },
        },
      },
      context,
    );
    assert.deepEqual(answer, { bill_date: '2026-12-01', discrepancies: 3 });
    assert.deepEqual(seen, ['wechat missing_local 2 1000', 'alipay state_mismatch 1 400']);
  });

  it('publish: a day with no discrepancy (the header alone) publishes nothing', async () => {
    const { fake, seen } = telemetry();
    const answer = await publishFunction({ logger, telemetry: fake })(
      { bill_date: '2026-12-01', result_set: { Rows: [{ Data: [{ VarCharValue: 'channel' }] }] } },
      context,
    );
    assert.deepEqual(answer, { bill_date: '2026-12-01', discrepancies: 0 });
    assert.deepEqual(seen, []);
  });

  it('refuses a day that is not a date, and a class the comparison does not make, naming what is wrong', async () => {
    const accounts = accountsFunction({
      logger,
      merchants: { ids: async () => [] } as never,
      channels: channels().registry,
    });
    for (const bill_date of ['2026-02-30', '2026-13-01', '2026-1-01'])
      await assert.rejects(accounts({ bill_date }, context), {
        name: 'InvalidReconcileInput',
        message: /bill_date: must be a date YYYY-MM-DD/,
      });
    const publish = publishFunction({ logger, telemetry: telemetry().fake });
    await assert.rejects(
      publish(
        {
          bill_date: '2026-12-01',
          result_set: {
            Rows: [
              { Data: [{ VarCharValue: 'channel' }, { VarCharValue: 'class' }] },
              { Data: [{ VarCharValue: 'wechat' }, { VarCharValue: 'matched' }] },
            ],
          },
        },
        context,
      ),
      { name: 'InvalidReconcileInput', message: /class/ },
    );
  });

  it('record: writes the day’s accounts file from the machine’s fetch results', async () => {
    const { store, recorded } = memoryStore();
    const record = recordFunction({ logger, statements: store as never, telemetry: telemetry().fake });
    const summary = await record(
      {
        bill_date: '2026-12-01',
        accounts: [
          { channel: 'wechat', account: '1', merchant_ids: ['M1'], result: { kind: 'fetched', rows: 0 } },
        ],
      },
      context,
    );
    assert.deepEqual(summary, { fetched: 1, not_published: 0, unknown: 0, no_statement: 0 });
    assert.equal(recorded[0]?.[0]?.status, 'fetched');
  });
});
