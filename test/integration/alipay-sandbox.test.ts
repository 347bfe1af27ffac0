import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, createSign, createVerify, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { AlipaySdk } from 'alipay-sdk';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { alipay } from '#core/channels/alipay/index.ts';
import { memberSpans, rsa2Sign, rsa2Verify, signingString, toForm } from '#core/channels/alipay/wire.ts';
import type { ChannelContext } from '#core/channels/channel.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { AlipaySandbox, type AlipaySandboxKeys, alipaySandboxKeys } from '#sandbox/alipay.ts';
import { type SandboxPki, sandboxPkiIn } from '#sandbox/certificates.ts';

const app = { app_id: '2021000000000001', seller_id: '2088000000000001' };
const outTradeNo = () => `sbx${randomBytes(12).toString('hex')}`;
const authCode = (outcome: string) => `2867890123456789${outcome}`;
type Biz = Record<string, unknown>;

interface CallOptions {
  /** Parameters replacing (or, as undefined, removing) the signed defaults. */
  readonly params?: Record<string, string | undefined>;
  /** Sign with this key instead of the app's; `false` sends no sign. */
  readonly signWith?: string | false;
  /** Sent as is. */
  readonly raw?: string;
}

/** An answer as read from the wire: the node, its exact text, the sign, the top-level key. */
interface Answer {
  readonly key: string;
  readonly node: Record<string, string>;
  readonly raw: string;
  readonly sign: string | undefined;
}

describe('Alipay open-platform sandbox (HTTPS, strict as Alipay)', () => {
  let pki: SandboxPki;
  let keys: AlipaySandboxKeys;
  let other: AlipaySandboxKeys;
  let sandbox: AlipaySandbox;
  let url: string;
  const defaultCas = tls.getCACertificates('default');
  const timeZone = process.env.TZ;

  beforeAll(async () => {
    pki = sandboxPkiIn(inject('sandboxKeysDir')); // the run's, made once by the global setup
    [keys, other] = await Promise.all([alipaySandboxKeys(), alipaySandboxKeys()]);
    sandbox = new AlipaySandbox({
      apps: [{ ...app, publicKeyPem: keys.app.public_pem }],
      alipayPrivateKeyPem: keys.alipay.private_pem,
      appAuthTokens: ['202601BB0000000000000000000000000001'],
      timeScale: 0.001,
      tls: pki.server,
    });
    url = await sandbox.listen();
    // alipay-sdk talks HTTPS through urllib with Node's default trust store; the test CA joins it here.
    tls.setDefaultCACertificates([...defaultCas, pki.caPem]);
  });
  afterAll(async () => {
    tls.setDefaultCACertificates(defaultCas);
    if (timeZone === undefined) delete process.env.TZ;
    else process.env.TZ = timeZone;
    await sandbox.close();
  });

  /** POSTs `body` to the gateway (or `target`); the answer's text. */
  function post(body: string, target = url): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          ca: pki.caPem,
          headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Reads an answer the way Alipay's SDKs do, keeping the node's exact text. */
  function parse(text: string): Answer {
    const spans = memberSpans(text);
    assert.ok(spans, `not one JSON object: ${text}`);
    const key = [...spans.keys()].find((name) => name.endsWith('_response'));
    const span = key && spans.get(key);
    assert.ok(key && span, `no response node: ${text}`);
    const raw = text.slice(span.start, span.end);
    const parsed = JSON.parse(text) as { sign?: string };
    return { key, node: JSON.parse(raw) as Record<string, string>, raw, sign: parsed.sign };
  }

  /** Calls `method` with `biz`, signed with the app key (RSA2) as this gateway's channel signs. */
  async function call(method: string, biz: Biz, options: CallOptions = {}): Promise<Answer> {
    if (options.raw !== undefined) return parse(await post(options.raw));
    const params: Record<string, string | undefined> = {
      app_id: app.app_id,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: toUtc8(Date.now(), 'dashed'),
      version: '1.0',
      biz_content: JSON.stringify(biz),
      ...options.params,
    };
    const signWith = options.signWith ?? keys.app.private_pem;
    if (signWith !== false) params.sign = rsa2Sign(signingString(params), createPrivateKey(signWith));
    return parse(await post(toForm(params)));
  }

  const pay = (outcome: string, biz: Biz = {}, options?: CallOptions) =>
    call(
      'alipay.trade.pay',
      {
        out_trade_no: outTradeNo(),
        scene: 'bar_code',
        auth_code: authCode(outcome),
        subject: 'Sandbox goods',
        total_amount: '1.01',
        ...biz,
      },
      options,
    );

  /** The sandbox's answer is signed with its key over the node exactly as sent. */
  function assertSigned(answer: Answer) {
    assert.ok(answer.sign, `unsigned: ${answer.raw}`);
    assert.ok(
      rsa2Verify(answer.raw, answer.sign, createPublicKey(keys.alipay.public_pem)),
      'answer signature',
    );
  }

  function assertRefused(answer: Answer, code: string, subCode: string) {
    assert.deepEqual([answer.node.code, answer.node.sub_code], [code, subCode], answer.node.sub_msg);
    assertSigned(answer);
  }

  describe('driven by alipay-sdk, the official Node SDK, with its answer-signature check on', () => {
    const sdk = () =>
      new AlipaySdk({
        appId: app.app_id,
        privateKey: keys.app.private_pem,
        keyType: 'PKCS8',
        alipayPublicKey: keys.alipay.public_pem,
        gateway: url,
      });
    // The SDK stamps requests in the machine's local time; Alipay reads Beijing time, so a POS server runs in it.
    beforeAll(() => {
      process.env.TZ = 'Asia/Shanghai';
    });

    it('pays, queries and cancels (refunding the payment); every answer passes the SDK signature check', async () => {
      const client = sdk();
      const orderNo = outTradeNo();
      const paid = await client.exec(
        'alipay.trade.pay',
        {
          bizContent: {
            out_trade_no: orderNo,
            scene: 'bar_code',
            auth_code: authCode('00'),
            subject: 'Sandbox goods',
            total_amount: '1.01',
          },
        },
        { validateSign: true },
      );
      assert.equal(paid.code, '10000');
      assert.equal(paid.outTradeNo, orderNo);
      assert.equal(paid.totalAmount, '1.01');
      assert.match(String(paid.tradeNo), /^\d{28}$/);
      const queried = await client.exec(
        'alipay.trade.query',
        { bizContent: { out_trade_no: orderNo } },
        { validateSign: true },
      );
      assert.equal(queried.tradeStatus, 'TRADE_SUCCESS');
      assert.equal(queried.tradeNo, paid.tradeNo);
      const cancelled = await client.exec(
        'alipay.trade.cancel',
        { bizContent: { trade_no: paid.tradeNo } },
        { validateSign: true },
      );
      assert.deepEqual([cancelled.code, cancelled.retryFlag, cancelled.action], ['10000', 'N', 'refund']);
      assert.deepEqual(sandbox.callsFor(orderNo), { pay: 1, query: 1, cancel: 1 });
    });

    it('01: 10003, then paid at the second query', async () => {
      const client = sdk();
      const orderNo = outTradeNo();
      const biz = {
        out_trade_no: orderNo,
        scene: 'bar_code',
        auth_code: authCode('01'),
        subject: 'x',
        total_amount: '5',
      };
      const waiting = await client.exec('alipay.trade.pay', { bizContent: biz }, { validateSign: true });
      assert.equal(waiting.code, '10003');
      const query = () =>
        client.exec('alipay.trade.query', { bizContent: { out_trade_no: orderNo } }, { validateSign: true });
      assert.equal((await query()).tradeStatus, 'WAIT_BUYER_PAY');
      const paid = await query();
      assert.deepEqual([paid.tradeStatus, paid.totalAmount], ['TRADE_SUCCESS', '5.00']);
    });

    it('surfaces a refusal (03) as its code and sub_code, signed like every answer', async () => {
      const refused = await sdk().exec(
        'alipay.trade.pay',
        {
          bizContent: {
            out_trade_no: outTradeNo(),
            scene: 'bar_code',
            auth_code: authCode('03'),
            subject: 'x',
            total_amount: '0.01',
          },
        },
        { validateSign: true },
      );
      assert.deepEqual([refused.code, refused.subCode], ['40004', 'ACQ.BUYER_BALANCE_NOT_ENOUGH']);
    });

    it("fails the SDK's signature check when the sandbox signs with a key the SDK does not hold", async () => {
      const wrongKey = new AlipaySdk({
        appId: app.app_id,
        privateKey: keys.app.private_pem,
        keyType: 'PKCS8',
        alipayPublicKey: other.alipay.public_pem,
        gateway: url,
      });
      await assert.rejects(
        wrongKey.exec(
          'alipay.trade.query',
          { bizContent: { out_trade_no: outTradeNo() } },
          { validateSign: true },
        ),
        /验签失败/,
      );
    });
  });

  describe("this gateway's channel against the sandbox", () => {
    const context = (): ChannelContext => ({
      account: app,
      credentials: {
        app_private_key_pem: keys.app.private_pem,
        alipay_public_key_pem: keys.alipay.public_pem,
      },
    });
    const command = (outcome: string) => ({
      out_trade_no: outTradeNo(),
      total_fee: 101,
      auth_code: authCode(outcome),
      body: 'Sandbox goods',
      spbill_create_ip: '10.1.2.3',
    });

    it("sends requests that verify under the SDK's own check, with the same key pair", async () => {
      const captured: string[] = [];
      const capture = await listen((body, query) => {
        captured.push(`${query}&${body}`);
        return '{}';
      });
      try {
        const channel = alipay.create({ url: capture.url, http: new ChannelHttp() });
        await channel.pay(
          context(),
          {
            ...command('00'),
            subject: '商品 & 服务',
            store_id: 'S1',
            op_user_id: 'cashier-7',
            time_expire: 1_900_000_000,
          },
          5_000,
        );
        const params = Object.fromEntries(new URLSearchParams(captured[0] ?? ''));
        // The common parameters in the query string, as Alipay's SDKs put them; the business content in the body.
        assert.match(captured[0] ?? '', /^app_id=.*&charset=utf-8&.*&sign=[^&]+&biz_content=[^&]+$/);
        assert.equal(params.method, 'alipay.trade.pay');
        assert.equal(params.sign_type, 'RSA2');
        assert.match(params.timestamp ?? '', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
        assert.deepEqual(JSON.parse(params.biz_content ?? ''), {
          out_trade_no: JSON.parse(params.biz_content ?? '').out_trade_no,
          scene: 'bar_code',
          auth_code: authCode('00'),
          product_code: 'FACE_TO_FACE_PAYMENT',
          subject: '商品 & 服务',
          body: 'Sandbox goods',
          total_amount: '1.01',
          seller_id: app.seller_id,
          store_id: 'S1',
          operator_id: 'cashier-7',
          time_expire: '2030-03-18 01:46:40',
        });
        // The SDK as the verifier: its check of a signed parameter set, with the app's public key.
        const verifier = new AlipaySdk({
          appId: app.app_id,
          privateKey: keys.app.private_pem,
          keyType: 'PKCS8',
          alipayPublicKey: keys.app.public_pem,
        });
        assert.equal(verifier.checkNotifySignV2(params), true);
        assert.equal(verifier.checkNotifySignV2({ ...params, biz_content: `${params.biz_content} ` }), false);
      } finally {
        await capture.close();
      }
    });

    it('refuses an answer changed by one byte after signing: unknown, never paid (and the query that follows)', async () => {
      let changed = 0;
      const tamper = await listen(async (body, query) => {
        const text = await post(body, `${url}?${query}`);
        const altered = text.replace('"msg":"Success"', '"msg":"success"');
        if (altered !== text) changed += 1;
        return altered;
      });
      try {
        const http = new ChannelHttp(pki.caPem);
        const tampered = alipay.create({ url: tamper.url, http });
        const direct = alipay.create({ url, http });
        const order = command('00');
        const paid = await tampered.pay(context(), order, 5_000);
        assert.deepEqual([paid.kind, paid.said], ['unknown', 'BAD_SIGNATURE']);
        const queried = await tampered.query(context(), order, 5_000);
        assert.deepEqual([queried.kind, queried.said], ['unknown', 'BAD_SIGNATURE']);
        assert.equal(changed, 2);
        // The answers were genuine before the change: untouched, the same query proves the payment.
        assert.equal((await direct.query(context(), order, 5_000)).kind, 'paid');
      } finally {
        await tamper.close();
      }
    });

    it('pays, queries and cancels through the sandbox, reading each answer into its result', async () => {
      const channel = alipay.create({ url, http: new ChannelHttp(pki.caPem) });
      const paid = await channel.pay(context(), command('00'), 5_000);
      assert.equal(paid.kind, 'paid');
      const waiting = command('02');
      assert.equal((await channel.pay(context(), waiting, 5_000)).kind, 'pending');
      assert.equal((await channel.query(context(), waiting, 5_000)).kind, 'pending');
      const cancelled = await channel.reverse(context(), waiting, 5_000);
      assert.ok(cancelled.kind === 'reversed');
      assert.equal(cancelled.action, 'close');
      assert.equal((await channel.query(context(), waiting, 5_000)).kind, 'failed');
      const refused = await channel.pay(context(), command('04'), 5_000);
      assert.deepEqual([refused.kind, refused.said], ['refused', 'ACQ.PAYMENT_AUTH_CODE_INVALID']);
      const timedOut = await channel.pay(context(), command('07'), 20);
      assert.deepEqual([timedOut.kind, timedOut.said], ['unknown', 'TIMEOUT']);
    });

    it('a merchant whose key Alipay does not know is refused by the gateway: 600 isv.invalid-signature, code masked', async () => {
      const channel = alipay.create({ url, http: new ChannelHttp(pki.caPem) });
      const stranger = {
        ...context(),
        credentials: { ...context().credentials, app_private_key_pem: other.app.private_pem },
      };
      const order = command('00');
      const refused = await channel.pay(stranger, order, 5_000);
      assert.ok(refused.kind === 'refused');
      assert.equal(refused.errCode, 'isv.invalid-signature');
      assert.equal(refused.errMsg.includes(order.auth_code), false);
      assert.deepEqual(sandbox.callsFor(order.out_trade_no), { pay: 0, query: 0, cancel: 0 });
    });
  });

  describe("the gateway's refusals of common parameters", () => {
    it('40002 isv.invalid-signature: signed with another key, or a parameter changed after signing', async () => {
      assertRefused(
        await pay('00', {}, { signWith: other.app.private_pem }),
        '40002',
        'isv.invalid-signature',
      );
      const orderNo = outTradeNo();
      const params = {
        app_id: app.app_id,
        method: 'alipay.trade.query',
        charset: 'utf-8',
        sign_type: 'RSA2',
        timestamp: toUtc8(Date.now(), 'dashed'),
        version: '1.0',
        biz_content: JSON.stringify({ out_trade_no: orderNo }),
      };
      const sign = rsa2Sign(signingString(params), createPrivateKey(keys.app.private_pem));
      const raw = toForm({ ...params, biz_content: JSON.stringify({ out_trade_no: `${orderNo}x` }), sign });
      assertRefused(await call('', {}, { raw }), '40002', 'isv.invalid-signature');
    });

    it('40001 for a missing sign, sign_type, timestamp or version; error_response for a missing method', async () => {
      assertRefused(await pay('00', {}, { signWith: false }), '40001', 'isv.missing-signature');
      for (const [name, subCode] of [
        ['sign_type', 'isv.missing-signature-type'],
        ['timestamp', 'isv.missing-timestamp'],
        ['version', 'isv.missing-version'],
      ] as const) {
        assertRefused(await pay('00', {}, { params: { [name]: undefined } }), '40001', subCode);
      }
      const noMethod = await pay('00', {}, { params: { method: undefined } });
      assert.equal(noMethod.key, 'error_response');
      assert.equal(noMethod.node.sub_code, 'isv.missing-method');
    });

    it('40002 for an unknown method, charset, format, sign_type, version or a timestamp not in Beijing time', async () => {
      const unknownMethod = await pay('00', {}, { params: { method: 'alipay.trade.no.such.method' } });
      assert.deepEqual(
        [unknownMethod.key, unknownMethod.node.sub_code],
        ['error_response', 'isv.invalid-method'],
      );
      const utc = new Date().toISOString().slice(0, 19).replace('T', ' ');
      for (const [params, subCode] of [
        [{ charset: 'big5' }, 'isv.invalid-charset'],
        [{ format: 'XML' }, 'isv.invalid-format'],
        [{ sign_type: 'RSA' }, 'isv.invalid-signature-type'],
        [{ version: '2.0' }, 'isv.invalid-parameter'],
        [{ timestamp: utc }, 'isv.invalid-timestamp'],
        [{ timestamp: '2026/01/01 10:00:00' }, 'isv.invalid-timestamp'],
        [{ biz_content: '[1]' }, 'isv.invalid-parameter'],
      ] as const) {
        assertRefused(await pay('00', {}, { params }), '40002', subCode);
      }
    });

    for (const charset of ['GBK', 'gb2312'] as const) {
      it(`takes a request in ${charset} (a Chinese subject, signed over its ${charset} bytes) and answers in it`, async () => {
        const params: Record<string, string> = {
          app_id: app.app_id,
          method: 'alipay.trade.pay',
          charset,
          sign_type: 'RSA2',
          timestamp: toUtc8(Date.now(), 'dashed'),
          version: '1.0',
          biz_content: JSON.stringify({
            out_trade_no: outTradeNo(),
            scene: 'bar_code',
            auth_code: authCode('00'),
            subject: '天虹龙华店-食品',
            total_amount: '1.01',
          }),
        };
        const sign = createSign('RSA-SHA256')
          .update(iconv.encode(signingString(params), charset))
          .sign(createPrivateKey(keys.app.private_pem), 'base64');
        // The form percent-encodes each value's bytes in the request's charset, as Alipay's Java SDK does.
        const form = Object.entries({ ...params, sign })
          .map(
            ([name, value]) =>
              `${name}=${[...iconv.encode(value, charset)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`,
          )
          .join('&');
        const send = (body: string) =>
          new Promise<{ answer: Answer; type: string }>((resolve, reject) => {
            const headers = { 'content-type': `application/x-www-form-urlencoded;charset=${charset}` };
            const req = request(url, { method: 'POST', ca: pki.caPem, headers }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () =>
                resolve({
                  answer: parse(iconv.decode(Buffer.concat(chunks), charset)),
                  type: String(res.headers['content-type']),
                }),
              );
            });
            req.on('error', reject);
            req.end(body);
          });
        // The sign covers the node's bytes as sent, in the request's charset.
        const signedInCharset = (answer: Answer) =>
          createVerify('RSA-SHA256')
            .update(iconv.encode(answer.raw, charset))
            .verify(createPublicKey(keys.alipay.public_pem), answer.sign ?? '', 'base64');
        const { answer, type } = await send(form);
        assert.match(type, new RegExp(`charset=${charset}`, 'i'));
        assert.equal(answer.node.code, '10000', JSON.stringify(answer.node));
        assert.equal(signedInCharset(answer), true);
        // The same request with its values sent as UTF-8 bytes is not what was signed.
        const utf8 = await send(toForm({ ...params, sign }));
        assert.deepEqual(
          [utf8.answer.node.code, utf8.answer.node.sub_code],
          ['40002', 'isv.invalid-signature'],
        );
        assert.equal(signedInCharset(utf8.answer), true);
      });
    }

    it('an unknown app_id is refused unsigned (no key pair to answer with); an unknown app_auth_token: 20001', async () => {
      const stranger = await pay('00', {}, { params: { app_id: '2021000000009999' } });
      assert.deepEqual(
        [stranger.node.code, stranger.node.sub_code, stranger.sign],
        ['40002', 'isv.invalid-app-id', undefined],
      );
      assertRefused(
        await pay('00', {}, { params: { app_auth_token: 'nope' } }),
        '20001',
        'aop.invalid-app-auth-token',
      );
      const token = '202601BB0000000000000000000000000001';
      assert.equal((await pay('00', {}, { params: { app_auth_token: token } })).node.code, '10000');
    });

    it('refuses a parameter given twice (in the URL and the body)', async () => {
      const body = toForm({ app_id: app.app_id, method: 'alipay.trade.query', biz_content: '{}' });
      const answer = parse(await post(body, `${url}?method=alipay.trade.query`));
      assert.equal(answer.node.sub_code, 'isv.invalid-parameter');
    });
  });

  describe("Alipay's refusals of business parameters", () => {
    it('ACQ.INVALID_PARAMETER: a required field missing, an amount that is not yuan to the fen, an unknown scene', async () => {
      for (const name of ['subject', 'total_amount', 'auth_code', 'scene', 'out_trade_no']) {
        assertRefused(await pay('00', { [name]: undefined }), '40004', 'ACQ.INVALID_PARAMETER');
      }
      for (const total_amount of ['0', '0.00', '1.001', '-1', '1e2', '100000000.01']) {
        assertRefused(await pay('00', { total_amount }), '40004', 'ACQ.INVALID_PARAMETER');
      }
      assertRefused(await pay('00', { scene: 'qr_code' }), '40004', 'ACQ.INVALID_PARAMETER');
      assertRefused(await pay('00', { operator_id: 'o'.repeat(29) }), '40004', 'ACQ.INVALID_PARAMETER');
      assertRefused(await pay('00', { seller_id: '2088000000000002' }), '40004', 'ACQ.INVALID_PARAMETER');
      assertRefused(
        await pay('00', { time_expire: '2026-13-01 00:00:00' }),
        '40004',
        'ACQ.INVALID_PARAMETER',
      );
      assert.equal((await pay('00', { total_amount: '100000000' })).node.code, '10000');
    });

    it('ACQ.PAYMENT_AUTH_CODE_INVALID: a code that is not 16–24 digits starting 25–30', async () => {
      for (const code of ['134567890123456700', '286789012345600', '316789012345678900']) {
        const answer = await pay('00', { auth_code: code });
        assertRefused(answer, '40004', 'ACQ.PAYMENT_AUTH_CODE_INVALID');
      }
    });

    it('a reused out_trade_no: ACQ.TRADE_HAS_SUCCESS, ACQ.TRADE_HAS_CLOSE, ACQ.CONTEXT_INCONSISTENT', async () => {
      const paidNo = (await pay('00')).node.out_trade_no;
      assertRefused(await pay('00', { out_trade_no: paidNo }), '40004', 'ACQ.TRADE_HAS_SUCCESS');
      const waitingNo = outTradeNo();
      assert.equal((await pay('02', { out_trade_no: waitingNo })).node.code, '10003');
      assert.equal((await pay('02', { out_trade_no: waitingNo })).node.code, '10003');
      assertRefused(
        await pay('02', { out_trade_no: waitingNo, total_amount: '2.00' }),
        '40004',
        'ACQ.CONTEXT_INCONSISTENT',
      );
      assert.equal((await call('alipay.trade.cancel', { out_trade_no: waitingNo })).node.action, 'close');
      assertRefused(await pay('00', { out_trade_no: waitingNo }), '40004', 'ACQ.TRADE_HAS_CLOSE');
    });

    it('queries by trade_no or out_trade_no; an unknown trade is ACQ.TRADE_NOT_EXIST', async () => {
      const paid = (await pay('00')).node;
      const byTradeNo = await call('alipay.trade.query', { trade_no: paid.trade_no });
      assert.equal(byTradeNo.node.out_trade_no, paid.out_trade_no);
      assertSigned(byTradeNo);
      assertRefused(
        await call('alipay.trade.query', { out_trade_no: outTradeNo() }),
        '40004',
        'ACQ.TRADE_NOT_EXIST',
      );
      assertRefused(await call('alipay.trade.query', {}), '40004', 'ACQ.INVALID_PARAMETER');
    });
  });

  describe('the outcome table', () => {
    it('09: the first cancel answers retry_flag=Y, the second closes; 10 never cancels', async () => {
      const orderNo = outTradeNo();
      assert.equal((await pay('09', { out_trade_no: orderNo })).node.code, '10003');
      const first = await call('alipay.trade.cancel', { out_trade_no: orderNo });
      assertRefused(first, '40004', 'ACQ.SYSTEM_ERROR');
      assert.equal(first.node.retry_flag, 'Y');
      const second = await call('alipay.trade.cancel', { out_trade_no: orderNo });
      assert.deepEqual(
        [second.node.code, second.node.retry_flag, second.node.action],
        ['10000', 'N', 'close'],
      );

      const failing = outTradeNo();
      await pay('10', { out_trade_no: failing });
      for (let i = 0; i < 3; i += 1) {
        assert.equal((await call('alipay.trade.cancel', { out_trade_no: failing })).node.retry_flag, 'Y');
      }
      assert.deepEqual(sandbox.callsFor(failing), { pay: 1, query: 0, cancel: 3 });
    });

    it('05 answers 20000 but paid; 06 and 07 do not answer, 06 paid all the same, 07 did not', async () => {
      const systemError = await pay('05');
      assertRefused(systemError, '20000', 'isp.unknow-error');
      const paidNo = outTradeNo();
      const lostNo = outTradeNo();
      await assert.rejects(pay('06', { out_trade_no: paidNo }));
      await assert.rejects(pay('07', { out_trade_no: lostNo }));
      assert.equal(
        (await call('alipay.trade.query', { out_trade_no: paidNo })).node.trade_status,
        'TRADE_SUCCESS',
      );
      assertRefused(
        await call('alipay.trade.query', { out_trade_no: lostNo }),
        '40004',
        'ACQ.TRADE_NOT_EXIST',
      );
      // Cancelling a number Alipay never saw closes it.
      const cancelled = await call('alipay.trade.cancel', { out_trade_no: lostNo });
      assert.deepEqual([cancelled.node.code, cancelled.node.retry_flag], ['10000', 'N']);
      assertRefused(await pay('00', { out_trade_no: lostNo }), '40004', 'ACQ.TRADE_HAS_CLOSE');
    });

    it('08: waiting, then closed at the first query', async () => {
      const orderNo = outTradeNo();
      await pay('08', { out_trade_no: orderNo });
      assert.equal(
        (await call('alipay.trade.query', { out_trade_no: orderNo })).node.trade_status,
        'TRADE_CLOSED',
      );
    });

    it('reports the calls it received for an order at GET /sandbox/calls/<out_trade_no>', async () => {
      const orderNo = (await pay('00')).node.out_trade_no;
      await call('alipay.trade.query', { out_trade_no: orderNo });
      const res = await fetch(`${url.replace('/gateway.do', '')}/sandbox/calls/${orderNo}`);
      assert.deepEqual(await res.json(), { pay: 1, query: 1, cancel: 0 });
    });
  });
});

/** A plain HTTP server that answers every POST with what `respond` makes of its body. */
async function listen(
  respond: (body: string, query: string) => string | Promise<string>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const query = new URL(req.url ?? '/', 'http://capture').search.slice(1);
    const answer = await respond(Buffer.concat(chunks).toString('utf8'), query);
    res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.do`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
