import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { blueocean } from '#core/channels/blueocean/index.ts';
import { requestBody } from '#core/channels/blueocean/wire.ts';
import type { ChannelContext } from '#core/channels/channel.ts';
import { fshows } from '#core/channels/fshows/index.ts';
import { fshowsMethods } from '#core/channels/fshows/protocol.ts';
import { requestForm } from '#core/channels/fshows/wire.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { BlueoceanSandbox } from '#sandbox/blueocean.ts';
import { type SandboxPki, sandboxPkiIn } from '#sandbox/certificates.ts';
import { FshowsSandbox } from '#sandbox/fshows.ts';

const outTradeNo = () => `sbx${randomBytes(12).toString('hex')}`;
const authCode = (outcome: string) => `1345678901234567${outcome}`;
const deadline = 5_000;

function rsaPair() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** POSTs a body to the sandbox over HTTPS (trusting the test CA) and returns the parsed JSON answer. */
async function post(
  http: ChannelHttp,
  url: string,
  body: string,
  type: string,
): Promise<Record<string, unknown>> {
  const response = await http.post(
    url,
    body,
    { 'content-type': type },
    { deadlineMs: deadline, maxResponseBytes: 65_536 },
  );
  return JSON.parse(response.body) as Record<string, unknown>;
}

describe('BlueOcean sandbox (HTTPS, strict as BlueOcean)', () => {
  const account = { appid: '1000258', key: 'sandboxblueoceankey0123456789abc' };
  let pki: SandboxPki;
  let sandbox: BlueoceanSandbox;
  let http: ChannelHttp;
  beforeAll(async () => {
    pki = sandboxPkiIn(inject('sandboxKeysDir')); // the run's, made once by the global setup
    sandbox = new BlueoceanSandbox({ accounts: [account], timeScale: 0.001, pki });
    await sandbox.listen();
    http = new ChannelHttp(pki.caPem);
  });
  afterAll(() => sandbox.close());

  const pay = (fields: Record<string, string | number | undefined>, key = account.key) =>
    post(
      http,
      `${sandbox.url}/wechat/payment/micropay`,
      requestBody(
        {
          appid: account.appid,
          nonce_str: 'n0nce',
          body: 'goods',
          out_trade_no: outTradeNo(),
          total_fee: 101,
          spbill_create_ip: '10.1.2.3',
          auth_code: authCode('00'),
          ...fields,
        },
        key,
      ),
      'application/json',
    );

  it('answers a signed pay with data signed as its reference code signs (empty fields included)', async () => {
    const answer = await pay({ attach: undefined });
    assert.equal(answer.code, 200);
    const data = answer.data as Record<string, string | number>;
    assert.equal(data.attach, '');
    const text = Object.keys(data)
      .filter((k) => k !== 'sign')
      .sort()
      .map((k) => `${k}=${data[k]}`)
      .concat(`key=${account.key}`)
      .join('&');
    assert.equal(data.sign, createHash('md5').update(text).digest('hex').toUpperCase());
    assert.equal(typeof data.total_fee, 'number');
    // Seed 000 lists the fields of a 200 pay answer: the paid order's, and no trade_state.
    assert.equal('trade_state' in data, false);
    assert.match(String(data.transaction_id), /^4200\d{24}$/);
  });

  it("answers the seed's reverse with recall, and the unified API's with the order REVOKED", async () => {
    const reverseOf = async (path: string, number: string) =>
      post(
        http,
        `${sandbox.url}${path}`,
        requestBody({ appid: account.appid, nonce_str: 'n0nce', out_trade_no: number }, account.key),
        'application/json',
      );
    const seed = outTradeNo();
    await pay({ out_trade_no: seed });
    const seedAnswer = await reverseOf('/wechat/order/reverse', seed);
    assert.equal(seedAnswer.code, 200);
    assert.equal((seedAnswer.data as Record<string, unknown>).recall, 'N');
    const channel = blueocean.create({ url: sandbox.url, http });
    const ctx: ChannelContext = {
      account: { appid: account.appid, currency: 'HKD', api: 'unified' },
      credentials: { api_key: account.key },
    };
    const unified = outTradeNo();
    await channel.pay(
      ctx,
      {
        out_trade_no: unified,
        total_fee: 3,
        auth_code: authCode('00'),
        body: 'g',
        spbill_create_ip: '10.1.2.3',
      },
      deadline,
    );
    const unifiedAnswer = await reverseOf('/order/reverse', unified);
    const data = unifiedAnswer.data as Record<string, unknown>;
    assert.deepEqual([unifiedAnswer.code, data.trade_state, data.out_trade_no], [200, 'REVOKED', unified]);
    assert.equal('recall' in data, false);
  });

  it("refuses with BlueOcean's codes: signature, appid, missing and unknown parameters, format, method", async () => {
    assert.equal((await pay({}, 'x'.repeat(32))).code, 4004);
    assert.equal((await pay({ appid: '9999' })).code, 4002);
    const missing = await pay({ body: undefined });
    assert.deepEqual([missing.code, missing.message], [4003, '缺少参数body']);
    assert.equal((await pay({ fee_type: 'HKD' })).code, 40100);
    assert.equal((await pay({ total_fee: '1.5' })).code, 40100);
    assert.equal((await pay({ auth_code: '2845678901234567800' })).code, 40500);
    const notJson = await post(http, `${sandbox.url}/wechat/payment/micropay`, 'appid=1', 'text/plain');
    assert.equal(notJson.code, 4001);
    assert.equal((await post(http, `${sandbox.url}/nowhere`, '{}', 'application/json')).code, 404);
  });

  it('refuses a reused order number as BlueOcean does', async () => {
    const number = outTradeNo();
    assert.equal((await pay({ out_trade_no: number })).code, 200);
    assert.equal((await pay({ out_trade_no: number })).code, 40101);
  });

  it('serves the unified API generation: /payment/pay with payment=micropay and code', async () => {
    const channel = blueocean.create({ url: sandbox.url, http });
    const ctx: ChannelContext = {
      account: { appid: account.appid, currency: 'HKD', api: 'unified' },
      credentials: { api_key: account.key },
    };
    const order = { out_trade_no: outTradeNo(), total_fee: 250 };
    const paid = await channel.pay(
      ctx,
      { ...order, auth_code: authCode('00'), body: 'goods', spbill_create_ip: '10.1.2.3' },
      deadline,
    );
    assert.equal(paid.kind, 'paid');
    assert.ok(paid.kind === 'paid' && Math.abs((paid.details.time_end ?? 0) - Date.now() / 1000) < 60);
    const queried = await channel.query(ctx, order, deadline);
    assert.equal(queried.kind, 'paid');
    assert.equal((await channel.reverse(ctx, order, deadline)).kind, 'reversed');
    assert.equal((await channel.reverse(ctx, order, deadline)).said, '40104');
    assert.deepEqual(sandbox.callsFor(order.out_trade_no), { pay: 1, query: 1, reverse: 2 });
    const unifiedPay = await post(
      http,
      `${sandbox.url}/payment/pay`,
      requestBody({ appid: account.appid, total_fee: 1, code: authCode('00') }, account.key),
      'application/json',
    );
    assert.deepEqual([unifiedPay.code, unifiedPay.message], [4003, '缺少参数payment']);
  });
});

describe('fshows sandbox (HTTPS, strict as its gateway)', () => {
  const merchant = rsaPair();
  const platform = rsaPair();
  const account = { app_id: '2016072300007148', store_id: '20170720205421027980' };
  let pki: SandboxPki;
  let http: ChannelHttp;
  const sandboxes: FshowsSandbox[] = [];
  let url: string;
  let unsignedUrl: string;

  beforeAll(async () => {
    pki = sandboxPkiIn(inject('sandboxKeysDir')); // the run's, made once by the global setup
    http = new ChannelHttp(pki.caPem);
    const options = {
      accounts: [
        { app_id: account.app_id, public_key_pem: merchant.publicKey, store_ids: [account.store_id] },
      ],
      platform_private_key_pem: platform.privateKey,
      timeScale: 0.001,
      pki,
    };
    sandboxes.push(new FshowsSandbox(options), new FshowsSandbox({ ...options, signAnswers: false }));
    [url, unsignedUrl] = (await Promise.all(sandboxes.map((s) => s.listen()))) as [string, string];
  });
  afterAll(() => Promise.all(sandboxes.map((s) => s.close())));

  const call = (
    content: Record<string, string>,
    params: Record<string, string> = {},
    key = merchant.privateKey,
  ) =>
    post(
      http,
      url,
      requestForm(
        {
          app_id: account.app_id,
          method: fshowsMethods.pay,
          version: '1.0',
          content: JSON.stringify({
            body: 'QQ公仔',
            out_trade_no: outTradeNo(),
            total_fee: '0.01',
            spbill_create_ip: '120.0.0.1',
            auth_code: authCode('00'),
            store_id: account.store_id,
            ...content,
          }),
          ...params,
        },
        key,
      ),
      'application/x-www-form-urlencoded',
    );

  it('answers a signed pay with return_value signed by the platform key (node-forge checks it)', async () => {
    const response = await http.post(
      url,
      requestForm(
        {
          app_id: account.app_id,
          method: fshowsMethods.pay,
          version: '1.0',
          content: JSON.stringify({
            body: 'x',
            out_trade_no: outTradeNo(),
            total_fee: '8.88',
            spbill_create_ip: '1.2.3.4',
            auth_code: authCode('00'),
            store_id: account.store_id,
          }),
        },
        merchant.privateKey,
      ),
      { 'content-type': 'application/x-www-form-urlencoded' },
      { deadlineMs: deadline, maxResponseBytes: 65_536 },
    );
    const raw = /^\{"return_value":(\{.*\}),"success":true,"sign":"([^"]+)"\}$/.exec(response.body);
    assert.ok(raw, response.body);
    assert.match(raw[1] as string, /"total_fee":8\.88,/);
    assert.match(raw[1] as string, /"liquidator_commission_fee":0\.01243,/);
    const digest = forge.md.sha1
      .create()
      .update(forge.util.encodeUtf8(`return_value=${raw[1]}&success=true`));
    const key = forge.pki.publicKeyFromPem(platform.publicKey);
    assert.equal(key.verify(digest.digest().bytes(), forge.util.decode64(raw[2] as string)), true);
  });

  it('refuses a wrong signature with -100 (无效签名), unsigned and bare', async () => {
    const answer = await call({}, {}, rsaPair().privateKey);
    assert.deepEqual(answer, { error_code: '-100', error_message: '无效签名', success: false });
  });

  it('refuses with -101 whatever is missing, unknown or malformed', async () => {
    const refusals = [
      await call({ store_id: '1' }),
      await call({ total_fee: '0.001' }),
      await call({ notify_url: 'x', surprise: '1' }),
      await call({}, { method: 'fshows.liquidation.nothing' }),
      await call({}, { version: '2.0' }),
      await call({}, { app_id: '1' }),
      await call({}, { sign_type: 'RSA' }),
    ];
    for (const answer of refusals) {
      assert.deepEqual([answer.success, answer.error_code], [false, '-101'], JSON.stringify(answer));
      assert.equal(answer.sign, undefined);
    }
    const missing = await post(http, url, 'app_id=1&method=x', 'application/x-www-form-urlencoded');
    assert.deepEqual([missing.success, missing.error_code], [false, '-101']);
  });

  it("answers WeChat's codes for the WeChat payments it carries, and refuses a reused number", async () => {
    assert.equal((await call({ auth_code: authCode('03') })).error_code, 'NOTENOUGH');
    assert.equal((await call({ auth_code: '2845678901234567800' })).error_code, 'AUTH_CODE_INVALID');
    const number = outTradeNo();
    assert.equal((await call({ out_trade_no: number })).success, true);
    assert.equal((await call({ out_trade_no: number })).error_code, 'ORDERPAID');
  });

  it('the channel reads signed answers with the platform key, and unsigned ones over TLS by order and amount', async () => {
    for (const [gateway, platformKey, basis] of [
      [url, platform.publicKey, 'signature'],
      [unsignedUrl, platform.publicKey, 'transport'],
      [url, undefined, 'transport'],
    ] as const) {
      const channel = fshows.create({ url: gateway, http });
      const ctx: ChannelContext = {
        account,
        credentials: {
          private_key_pem: merchant.privateKey,
          ...(platformKey ? { platform_public_key_pem: platformKey } : {}),
        },
      };
      const order = { out_trade_no: outTradeNo(), total_fee: 888 };
      const paid = await channel.pay(
        ctx,
        { ...order, auth_code: authCode('00'), body: 'goods', spbill_create_ip: '10.1.2.3' },
        deadline,
      );
      assert.ok(paid.kind === 'paid', paid.said);
      assert.equal(paid.proof.basis, basis);
      assert.equal(paid.details.net_money, '8.83827');
      const queried = await channel.query(ctx, order, deadline);
      assert.ok(queried.kind === 'paid' && queried.proof.basis === basis);
      assert.equal((await channel.reverse(ctx, order, deadline)).kind, 'reversed');
    }
  });

  it('the channel refuses answers signed with another platform key', async () => {
    const channel = fshows.create({ url, http });
    const ctx: ChannelContext = {
      account,
      credentials: { private_key_pem: merchant.privateKey, platform_public_key_pem: rsaPair().publicKey },
    };
    const result = await channel.pay(
      ctx,
      {
        out_trade_no: outTradeNo(),
        total_fee: 1,
        auth_code: authCode('00'),
        body: 'x',
        spbill_create_ip: '10.0.0.1',
      },
      deadline,
    );
    assert.deepEqual([result.kind, result.said], ['unknown', 'BAD_SIGNATURE']);
  });
});
