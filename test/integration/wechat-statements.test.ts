import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { ChannelContext, StatementRow } from '#core/channels/channel.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { wechat } from '#core/channels/wechat/index.ts';
import { readWechatStatement } from '#core/channels/wechat/statements.ts';
import { sandboxWechat } from '#sandbox/merchants.ts';
import { merchantClient, payment, scanOrders, useLocalStack, warmUp, wechatCode } from '../support/local.ts';

/** The part of `tenpay` (the WeChat Pay v2 client library, CommonJS, untyped) this test drives. */
interface TenpayPayment {
  urls: Record<string, string>;
  micropay(params: Record<string, string | number>): Promise<Record<string, string>>;
  downloadBill(
    params: Record<string, string>,
    format?: boolean,
  ): Promise<
    string | { list_title: string[]; list_data: string[][]; total_title: string[]; total_data: string[] }
  >;
}
type TenpayConstructor = new (config: { appid: string; mchid: string; partnerKey: string }) => TenpayPayment;
const Payment = createRequire(import.meta.url)('tenpay') as TenpayConstructor;

/** The UTC+8 calendar day of an instant, `YYYY-MM-DD`: the statement's day. */
const dayOf = (ms: number) => toUtc8(ms, 'dashed').slice(0, 10);

/** A statement row as compared here: what the reconciliation joins and compares. */
const brief = (r: StatementRow) =>
  `${r.kind} ${r.out_trade_no} ${r.out_refund_no ?? '-'} ${r.fee} ${r.state}`;

/**
 * SPEC section 9: the WeChat sandbox serves the day's statement from its own ledger, which holds what the gateway
 * paid and reversed and what was paid at the sandbox directly with tenpay; tenpay's downloadBill and the gateway's
 * statements.fetch read the same day, and both match what happened.
 */
describe('WeChat statements: tenpay and the gateway read the sandbox ledger the same', () => {
  const stack = useLocalStack();
  const defaultCas = tls.getCACertificates('default');
  /** What the statement must list: a line per payment that succeeded, as the test made them. */
  const expected: string[] = [];
  const notListed: string[] = [];
  let firstDay = '';
  let ctx: ChannelContext;
  let tenpay: TenpayPayment;

  beforeAll(async () => {
    // tenpay talks HTTPS through urllib with Node's default trust store; the test CA joins it here.
    tls.setDefaultCACertificates([...defaultCas, stack().pki.caPem]);
    const url = stack().sandbox('wechat').url;
    tenpay = new Payment({
      appid: sandboxWechat.account.appid,
      mchid: sandboxWechat.account.mch_id,
      partnerKey: sandboxWechat.credentials.api_key,
    });
    tenpay.urls.micropay = `${url}/pay/micropay`;
    tenpay.urls.downloadbill = `${url}/pay/downloadbill`;
    const credentials = stack().merchantSecrets.M100000001?.channels.wechat ?? {};
    ctx = { account: sandboxWechat.account, credentials };
  });
  afterAll(() => {
    tls.setDefaultCACertificates(defaultCas);
  });

  it('pays through the gateway (one reversed, one refused, one never paid) and directly with tenpay', async () => {
    firstDay = dayOf(Date.now());
    await warmUp(stack());
    const client = merchantClient(stack(), 0);
    const pay = async (outcome: string, totalFee: number) => {
      const { envelope } = await client.micropay(payment(outcome, { total_fee: totalFee }));
      return { code: envelope.code, tradeId: String(envelope.data?.trade_id) };
    };
    const [paid, systemError, toReverse, refused, neverPaid] = await Promise.all([
      pay('00', 101),
      pay('05', 1234567), // SYSTEMERROR to pay, paid: settled by a query
      pay('00', 2),
      pay('03', 77),
      pay('02', 88), // the user never pays: reversed by the protocol, never listed
    ]);
    assert.deepEqual(
      [paid.code, systemError.code, toReverse.code, refused.code, neverPaid.code],
      [0, 0, 0, 600, 0],
    );
    const reversed = await client.reverse({ trade_id: toReverse.tradeId });
    assert.equal(reversed.envelope.code, 0, JSON.stringify(reversed.envelope));

    const direct = `tenpay${randomBytes(8).toString('hex')}`;
    const answer = await tenpay.micropay({
      body: 'Paid at the sandbox directly',
      out_trade_no: direct,
      total_fee: 4321,
      auth_code: wechatCode('00'),
    });
    assert.equal(answer.out_trade_no, direct);
    await stack().stepFunctions.idle();

    // The warm-up's WeChat payment is on the statement too: found in the gateway's orders.
    const warm = (await scanOrders(stack())).filter(
      (o) =>
        o.channel === 'wechat' &&
        ![paid, systemError, toReverse, refused, neverPaid].some((p) => p.tradeId === o.trade_id),
    );
    assert.equal(warm.length, 1);
    expected.push(
      `pay ${String(warm[0]?.trade_id)} - ${Number(warm[0]?.total_fee)} paid`,
      `pay ${paid.tradeId} - 101 paid`,
      `pay ${systemError.tradeId} - 1234567 paid`,
      `pay ${toReverse.tradeId} - 2 reversed`,
      `pay ${direct} - 4321 paid`,
    );
    notListed.push(refused.tradeId, neverPaid.tradeId);
  });

  /** The statement days the payments may fall on (two if the test ran across midnight UTC+8). */
  const days = () => [...new Set([firstDay, dayOf(Date.now())])];

  it("the gateway's statements.fetch reads the day's statement (gzip) as the ledger says", async () => {
    const statements = wechat.create({
      url: stack().sandbox('wechat').url,
      http: new ChannelHttp(stack().pki.caPem),
    }).statements;
    assert.ok(statements);
    const rows: StatementRow[] = [];
    for (const day of days()) {
      const got = await statements.fetch(ctx, day, 5000);
      assert.equal(got.kind, 'published', JSON.stringify(got));
      if (got.kind !== 'published') continue;
      assert.deepEqual([got.raw[0], got.raw[1]], [0x1f, 0x8b], 'kept exactly as fetched: gzip');
      assert.deepEqual(statements.read(got.raw, day), got.rows);
      rows.push(...got.rows);
      assert.ok(
        got.rows.every(
          (r) => r.bill_date === day && r.time !== undefined && dayOf(Date.parse(r.time)) === day,
        ),
      );
    }
    assert.deepEqual(rows.map(brief).sort(), [...expected].sort());
    assert.ok(rows.every((r) => !notListed.includes(r.out_trade_no)));
    assert.ok(rows.every((r) => r.channel_trade_no?.startsWith('4200')));
    const big = rows.find((r) => r.fee === 1234567);
    assert.equal(big?.service_fee, 7407); // 0.60% of 12345.67 yuan, rounded to the fen
  });

  it("tenpay's downloadBill fetches the same statement as text, and reads the same rows", async () => {
    const rows: StatementRow[] = [];
    for (const day of days()) {
      const text = await tenpay.downloadBill({ bill_date: day.replaceAll('-', ''), bill_type: 'ALL' });
      assert.equal(typeof text, 'string');
      assert.match(String(text), /^\uFEFF?交易时间,/);
      rows.push(...readWechatStatement(Buffer.from(String(text), 'utf8'), day));

      const table = await tenpay.downloadBill({ bill_date: day.replaceAll('-', '') }, true);
      assert.ok(typeof table !== 'string');
      const column = (name: string) => table.list_title.findIndex((title) => title.endsWith(name));
      const listed = table.list_data.map((values) => values[column('商户订单号')]);
      assert.equal(table.total_title[0], '总交易单数');
      assert.equal(table.total_data[0], String(table.list_data.length));
      assert.deepEqual(
        listed.sort(),
        rows
          .filter((r) => r.bill_date === day)
          .map((r) => r.out_trade_no)
          .sort(),
      );
    }
    assert.deepEqual(rows.map(brief).sort(), [...expected].sort());
  });

  it("a day still to come is not published yet; tenpay sees WeChat's refusal, and a bad signature's", async () => {
    const tomorrow = dayOf(Date.now() + 86_400_000);
    const statements = wechat.create({
      url: stack().sandbox('wechat').url,
      http: new ChannelHttp(stack().pki.caPem),
    }).statements;
    const got = await statements?.fetch(ctx, tomorrow, 5000);
    assert.deepEqual(got, { kind: 'not_published', said: 'Bill Creating (20002)' });
    await assert.rejects(tenpay.downloadBill({ bill_date: tomorrow.replaceAll('-', '') }), /Bill Creating/);

    const forger = new Payment({
      appid: sandboxWechat.account.appid,
      mchid: sandboxWechat.account.mch_id,
      partnerKey: 'x'.repeat(32),
    });
    forger.urls.downloadbill = tenpay.urls.downloadbill ?? '';
    await assert.rejects(forger.downloadBill({ bill_date: firstDay.replaceAll('-', '') }), /签名错误/);
    const forged = await wechat
      .create({ url: stack().sandbox('wechat').url, http: new ChannelHttp(stack().pki.caPem) })
      .statements?.fetch({ ...ctx, credentials: { api_key: 'x'.repeat(32) } }, firstDay, 5000);
    assert.deepEqual(forged, { kind: 'unknown', said: 'FAIL:签名错误' });
  });
});
