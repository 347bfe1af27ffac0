import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import tls from 'node:tls';
import { AlipaySdk } from 'alipay-sdk';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { alipay } from '#core/channels/alipay/index.ts';
import { alipayBillMethod, readAlipayBill } from '#core/channels/alipay/statements.ts';
import type { ChannelContext, StatementRow } from '#core/channels/channel.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { AlipaySandbox, type AlipaySandboxKeys, alipaySandboxKeys } from '#sandbox/alipay.ts';
import { type SandboxPki, sandboxPkiIn } from '#sandbox/certificates.ts';

const app = { app_id: '2021000000000001', seller_id: '2088000000000001' };
const outTradeNo = () => `sbx${randomBytes(12).toString('hex')}`;
const requestNo = () => `rf${randomBytes(11).toString('hex')}`;
const authCode = (outcome: string) => `2867890123456789${outcome}`;
type Sdk = InstanceType<typeof AlipaySdk>;

/** The UTC+8 calendar day of an instant, `YYYY-MM-DD`: the statement's day. */
const dayOf = (ms: number) => toUtc8(ms, 'dashed').slice(0, 10);

/** A statement row as compared here: what the reconciliation joins and compares. */
const brief = (r: StatementRow) =>
  `${r.kind} ${r.out_trade_no} ${r.out_refund_no ?? '-'} ${r.fee} ${r.state}`;

/**
 * SPEC section 9 with Alipay's own client library: trades paid, refunded and cancelled at the sandbox with
 * alipay-sdk (its answer-signature check on), then the statement's download URL asked for with the SDK and with the
 * gateway's statements.fetch; both read the same zip, which lists what happened.
 */
describe('Alipay statements: alipay-sdk and the gateway read the sandbox ledger the same', () => {
  let pki: SandboxPki;
  let keys: AlipaySandboxKeys;
  let other: AlipaySandboxKeys;
  let sandbox: AlipaySandbox;
  /** A sandbox that publishes as Alipay does: a day once it is over. */
  let strict: AlipaySandbox;
  const defaultCas = tls.getCACertificates('default');
  const timeZone = process.env.TZ;
  const expected: string[] = [];
  const notListed: string[] = [];
  let firstDay = '';

  beforeAll(async () => {
    pki = sandboxPkiIn(inject('sandboxKeysDir'));
    [keys, other] = await Promise.all([alipaySandboxKeys(), alipaySandboxKeys()]);
    const options = {
      apps: [{ ...app, publicKeyPem: keys.app.public_pem }],
      alipayPrivateKeyPem: keys.alipay.private_pem,
      timeScale: 0.001,
      tls: pki.server,
    };
    sandbox = new AlipaySandbox({ ...options, statementsAtOnce: true });
    strict = new AlipaySandbox(options);
    await Promise.all([sandbox.listen(), strict.listen()]);
    // alipay-sdk talks HTTPS with Node's default trust store; the test CA joins it here. The SDK stamps requests
    // in the machine's local time, which Alipay reads as Beijing time.
    tls.setDefaultCACertificates([...defaultCas, pki.caPem]);
    process.env.TZ = 'Asia/Shanghai';
  });
  afterAll(async () => {
    tls.setDefaultCACertificates(defaultCas);
    if (timeZone === undefined) delete process.env.TZ;
    else process.env.TZ = timeZone;
    await Promise.all([sandbox.close(), strict.close()]);
  });

  const sdk = (gateway = sandbox.url, alipayPublicKey = keys.alipay.public_pem): Sdk =>
    new AlipaySdk({
      appId: app.app_id,
      privateKey: keys.app.private_pem,
      keyType: 'PKCS8',
      alipayPublicKey,
      gateway,
    });
  const exec = (method: string, bizContent: Record<string, unknown>, client = sdk()) =>
    client.exec(method, { bizContent }, { validateSign: true });
  const billUrl = (billDate: string, client = sdk()) =>
    exec(alipayBillMethod, { bill_type: 'trade', bill_date: billDate }, client);
  const ctx = (): ChannelContext => ({
    account: app,
    credentials: { app_private_key_pem: keys.app.private_pem, alipay_public_key_pem: keys.alipay.public_pem },
  });
  const statements = (url = sandbox.url) =>
    alipay.create({ url, http: new ChannelHttp(pki.caPem) }).statements;

  /** GETs a statement URL as a browser would: the zip's bytes, or the status. */
  function download(url: string): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { ca: pki.caPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Pays a trade at the sandbox with the SDK; its `out_trade_no`. */
  async function pay(total: string, outcome = '00'): Promise<string> {
    const orderNo = outTradeNo();
    const answer = await exec('alipay.trade.pay', {
      out_trade_no: orderNo,
      scene: 'bar_code',
      auth_code: authCode(outcome),
      subject: '沙箱商品, 一件',
      total_amount: total,
    }).catch((error: unknown) => ({ code: String((error as Error).message) }));
    assert.ok(['10000', '10003', '40004'].includes(String(answer.code)), JSON.stringify(answer));
    return orderNo;
  }

  it('pays, refunds and cancels at the sandbox with alipay-sdk', async () => {
    firstDay = dayOf(Date.now());
    const paid = await pay('12.34');
    const refunded = await pay('10.00');
    const number = requestNo();
    const refund = await exec('alipay.trade.refund', {
      out_trade_no: refunded,
      refund_amount: '2.50',
      out_request_no: number,
    });
    assert.deepEqual([refund.code, refund.fundChange], ['10000', 'Y']);
    const cancelled = await pay('0.88');
    const cancel = await exec('alipay.trade.cancel', { out_trade_no: cancelled });
    assert.deepEqual([cancel.code, cancel.action], ['10000', 'refund']);
    // Never paid: the buyer is still paying when the cancel closes it; and one the sandbox refuses.
    const unpaid = await pay('0.77', '02');
    assert.deepEqual((await exec('alipay.trade.cancel', { out_trade_no: unpaid })).action, 'close');
    const refused = await pay('0.66', '03');
    expected.push(
      `pay ${paid} - 1234 paid`,
      `pay ${refunded} - 1000 paid`,
      `refund ${refunded} ${number} 250 refunded`,
      `pay ${cancelled} - 88 reversed`,
    );
    notListed.push(unpaid, refused);
  });

  /** The statement days the trades may fall on (two if the test ran across midnight UTC+8). */
  const days = () => [...new Set([firstDay, dayOf(Date.now())])];

  it("alipay-sdk asks for the day's download URL, its signature check passing, and gets Alipay's zip", async () => {
    const rows: StatementRow[] = [];
    for (const day of days()) {
      const answer = await billUrl(day);
      assert.equal(answer.code, '10000', JSON.stringify(answer));
      const url = String(answer.billDownloadUrl);
      assert.match(url, /\/downloadBillFile\.resource\?bizType=trade&/);
      const { status, body } = await download(url);
      assert.equal(status, 200);
      const names = Object.keys(unzipSync(body)).map((name) =>
        new TextDecoder('gbk').decode(Buffer.from(name, 'latin1')),
      );
      const stem = `20880000000000010156_${day.replaceAll('-', '')}`;
      assert.deepEqual(names.sort(), [`${stem}_业务明细(汇总).csv`, `${stem}_业务明细.csv`]);
      const bill = readAlipayBill(body, day);
      assert.equal(bill.account, '20880000000000010156');
      rows.push(...bill.rows);
    }
    assert.deepEqual(rows.map(brief).sort(), [...expected].sort());
    assert.ok(rows.every((r) => !notListed.includes(r.out_trade_no)));
  });

  it("the gateway's statements.fetch reads the same: the zip exactly as fetched, and its rows", async () => {
    const rows: StatementRow[] = [];
    for (const day of days()) {
      const got = await statements()?.fetch(ctx(), day, 5000);
      assert.equal(got?.kind, 'published', JSON.stringify(got));
      if (got?.kind !== 'published') continue;
      assert.equal(got.raw.readUInt32LE(0), 0x04034b50, 'kept exactly as fetched: the zip');
      assert.deepEqual(statements()?.read(got.raw, day), got.rows);
      assert.ok(got.rows.every((r) => r.bill_date === day && r.time && dayOf(Date.parse(r.time)) === day));
      rows.push(...got.rows);
    }
    assert.deepEqual(rows.map(brief).sort(), [...expected].sort());
    assert.ok(rows.every((r) => /^\d{28}$/.test(r.channel_trade_no ?? '')));
    const big = rows.find((r) => r.fee === 1234);
    assert.equal(big?.service_fee, 7); // 0.60% of 12.34 yuan, rounded to the fen
  });

  it('a download URL with a token the sandbox never gave is refused', async () => {
    const answer = await billUrl(firstDay);
    const url = new URL(String(answer.billDownloadUrl));
    url.searchParams.set('token', 'f'.repeat(32));
    assert.equal((await download(url.toString())).status, 404);
  });

  it('a day to come is isp.bill_not_exist to alipay-sdk and not published to the gateway', async () => {
    const tomorrow = dayOf(Date.now() + 86_400_000);
    const answer = await billUrl(tomorrow);
    assert.deepEqual([answer.code, answer.subCode], ['40004', 'isp.bill_not_exist']);
    assert.deepEqual(await statements()?.fetch(ctx(), tomorrow, 5000), {
      kind: 'not_published',
      said: 'isp.bill_not_exist',
    });
  });

  it("publishing as Alipay does, today's statement is not out yet, and yesterday's is (empty here)", async () => {
    const today = dayOf(Date.now());
    const yesterday = dayOf(Date.now() - 86_400_000);
    const answer = await billUrl(today, sdk(strict.url));
    assert.deepEqual([answer.code, answer.subCode], ['40004', 'isp.bill_not_exist']);
    assert.deepEqual(await statements(strict.url)?.fetch(ctx(), today, 5000), {
      kind: 'not_published',
      said: 'isp.bill_not_exist',
    });
    const before = await statements(strict.url)?.fetch(ctx(), yesterday, 5000);
    assert.equal(before?.kind, 'published');
    assert.deepEqual(before?.kind === 'published' && before.rows, []);
  });

  it("an answer signed by another key fails alipay-sdk's check and decides nothing for the gateway", async () => {
    await assert.rejects(billUrl(firstDay, sdk(sandbox.url, other.alipay.public_pem)), /验签失败/);
    const stranger = {
      ...ctx(),
      credentials: { ...ctx().credentials, alipay_public_key_pem: other.alipay.public_pem },
    };
    assert.deepEqual(await statements()?.fetch(stranger, firstDay, 5000), {
      kind: 'unknown',
      said: 'BAD_SIGNATURE',
    });
  });
});
