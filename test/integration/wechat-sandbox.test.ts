import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { fromXml, toXml } from '#core/channels/wechat/wire.ts';
import { type SignType, sign, verify } from '#core/signing.ts';
import {
  type ClientCertificate,
  createSandboxPki,
  type SandboxPki,
  sandboxPkiIn,
} from '#sandbox/certificates.ts';
import { WechatSandbox } from '#sandbox/wechat.ts';

/** The part of `tenpay` (the WeChat Pay v2 client library, CommonJS, untyped) these tests drive. */
interface TenpayPayment {
  urls: Record<string, string>;
  micropay(params: Record<string, string | number>): Promise<Record<string, string>>;
  orderQuery(params: Record<string, string>): Promise<Record<string, string>>;
  reverse(params: Record<string, string>): Promise<Record<string, string>>;
  refund(params: Record<string, string | number>): Promise<Record<string, string>>;
  refundQuery(params: Record<string, string>): Promise<Record<string, string>>;
}
type TenpayConstructor = new (config: {
  appid: string;
  mchid: string;
  partnerKey: string;
  pfx?: Buffer;
}) => TenpayPayment;
const Payment = createRequire(import.meta.url)('tenpay') as TenpayConstructor;

const account = {
  appid: 'wx2421b1c4370ec43b',
  mch_id: '1900000109',
  key: 'sandboxwechatkey0123456789abcdef',
};
const other = { appid: 'wx9999999999999999', mch_id: '1900000200', key: 'otherwechatkey0123456789abcdef00' };
const transactionIdPattern = /^4200\d{24}$/;
const refundIdPattern = /^503\d{26}$/;
/** A fresh out_refund_no (as the gateway's: 24 hex characters). */
const outRefundNo = () => randomBytes(12).toString('hex');

/** A fresh out_trade_no (at most 32 characters). */
const outTradeNo = () => `sbx${randomBytes(12).toString('hex')}`;
const authCode = (outcome: string) => `1345678901234567${outcome}`;
const nonce = () => randomBytes(16).toString('hex');

interface CallOptions {
  /** Sign with this account (default: `account`); `false` sends the fields unsigned. */
  readonly as?: typeof account | false;
  readonly signType?: SignType;
  readonly certificate?: { readonly cert_pem: string; readonly key_pem: string };
  /** Sent as is, instead of signed fields. */
  readonly raw?: string;
}

describe('WeChat Pay v2 sandbox (HTTPS, strict as WeChat)', () => {
  let pki: SandboxPki;
  let client: ClientCertificate;
  let sandbox: WechatSandbox;
  let url: string;
  const defaultCas = tls.getCACertificates('default');

  beforeAll(async () => {
    pki = sandboxPkiIn(inject('sandboxKeysDir')); // the run's, made once by the global setup
    client = pki.issueClientCertificate(account.mch_id);
    sandbox = new WechatSandbox({ accounts: [account, other], timeScale: 0.001, pki });
    url = await sandbox.listen();
    // tenpay talks HTTPS through urllib with Node's default trust store; the test CA joins it here.
    tls.setDefaultCACertificates([...defaultCas, pki.caPem]);
  });
  afterAll(async () => {
    tls.setDefaultCACertificates(defaultCas);
    await sandbox.close();
  });

  /** Posts `fields` (appid, mch_id, nonce_str added; signed) to `path`; the answer's fields. */
  async function call(path: string, fields: Record<string, string>, options: CallOptions = {}) {
    const as = options.as ?? account;
    const signType = options.signType ?? 'MD5';
    let body = options.raw;
    if (body === undefined) {
      const unsigned: Record<string, string> = {
        ...(as ? { appid: as.appid, mch_id: as.mch_id } : {}),
        nonce_str: nonce(),
        ...(signType === 'MD5' ? {} : { sign_type: signType }),
        ...fields,
      };
      body = toXml(as ? { ...unsigned, sign: sign(unsigned, as.key, signType) } : unsigned);
    }
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${url}${path}`,
        {
          method: 'POST',
          ca: pki.caPem,
          cert: options.certificate?.cert_pem,
          key: options.certificate?.key_pem,
          // A fresh connection per call: no TLS session or socket carries one call's certificate to the next.
          agent: false,
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
    const answer = fromXml(text);
    assert.ok(answer, `not WeChat XML: ${text}`);
    return answer;
  }

  const pay = (outcome: string, fields: Record<string, string> = {}, options: CallOptions = {}) =>
    call(
      '/pay/micropay',
      {
        body: 'Sandbox goods',
        out_trade_no: outTradeNo(),
        total_fee: '101',
        spbill_create_ip: '10.1.2.3',
        auth_code: authCode(outcome),
        ...fields,
      },
      options,
    );
  const reverse = (fields: Record<string, string>, options: CallOptions = {}) =>
    call('/secapi/pay/reverse', fields, { certificate: client, ...options });

  /** A `result_code=FAIL` answer with `errCode`, signed, carrying the account's identity. */
  function assertRefused(answer: Record<string, string>, errCode: string, signType: SignType = 'MD5') {
    assert.equal(answer.return_code, 'SUCCESS', JSON.stringify(answer));
    assert.equal(answer.result_code, 'FAIL');
    assert.equal(answer.err_code, errCode, answer.err_code_des);
    assert.ok(answer.appid && answer.mch_id && answer.nonce_str);
    assert.ok(verify(answer, account.key, signType), 'answer signature');
  }

  /** A communication-level refusal: exactly return_code=FAIL and return_msg, nothing else. */
  function assertFail(answer: Record<string, string>, message: RegExp) {
    assert.deepEqual(Object.keys(answer).sort(), ['return_code', 'return_msg']);
    assert.equal(answer.return_code, 'FAIL');
    assert.match(answer.return_msg ?? '', message);
  }

  describe('driven by tenpay, the WeChat Pay v2 client library', () => {
    const tenpay = () => {
      const payment = new Payment({
        appid: account.appid,
        mchid: account.mch_id,
        partnerKey: account.key,
        pfx: client.pfx,
      });
      payment.urls.micropay = `${url}/pay/micropay`;
      payment.urls.orderquery = `${url}/pay/orderquery`;
      payment.urls.reverse = `${url}/secapi/pay/reverse`;
      payment.urls.refund = `${url}/secapi/pay/refund`;
      payment.urls.refundquery = `${url}/pay/refundquery`;
      return payment;
    };

    for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
      it(`refunds and queries the refund with sign_type ${signType} and the client certificate; tenpay's answer checks pass`, async () => {
        const payment = tenpay();
        const orderNo = outTradeNo();
        const paid = await payment.micropay({
          body: 'Sandbox goods',
          out_trade_no: orderNo,
          total_fee: 101,
          auth_code: authCode('00'),
          sign_type: signType,
        });
        const refundNo = outRefundNo();
        const request = {
          out_trade_no: orderNo,
          out_refund_no: refundNo,
          total_fee: 101,
          refund_fee: 40,
          refund_desc: '退货',
          sign_type: signType,
        };
        const withoutCertificate = new Payment({
          appid: account.appid,
          mchid: account.mch_id,
          partnerKey: account.key,
        });
        withoutCertificate.urls.refund = payment.urls.refund ?? '';
        await assert.rejects(withoutCertificate.refund(request), /证书错误/);

        const accepted = await payment.refund(request);
        assert.equal(accepted.out_trade_no, orderNo);
        assert.equal(accepted.out_refund_no, refundNo);
        assert.equal(accepted.transaction_id, paid.transaction_id);
        assert.equal(accepted.refund_fee, '40');
        assert.equal(accepted.total_fee, '101');
        assert.match(accepted.refund_id ?? '', refundIdPattern);
        // 同一退款单号多次请求只退一笔: the same number again is the same refund.
        assert.equal((await payment.refund(request)).refund_id, accepted.refund_id);

        const queried = await payment.refundQuery({ out_refund_no: refundNo, sign_type: signType });
        assert.equal(queried.out_trade_no, orderNo);
        assert.equal(queried.refund_count, '1');
        assert.equal(queried.out_refund_no_0, refundNo);
        assert.equal(queried.refund_id_0, accepted.refund_id);
        assert.equal(queried.refund_fee_0, '40');
        assert.equal(queried.refund_status_0, 'SUCCESS');
        assert.match(queried.refund_success_time_0 ?? '', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
        const byOrder = await payment.refundQuery({ out_trade_no: orderNo, sign_type: signType });
        assert.deepEqual([byOrder.refund_count, byOrder.total_refund_count], ['1', '1']);
        assert.equal((await payment.orderQuery({ out_trade_no: orderNo })).trade_state, 'REFUND');
        assert.deepEqual(sandbox.callsFor(orderNo), {
          micropay: 1,
          orderquery: 1,
          reverse: 0,
          refund: 2,
          refundquery: 2,
        });
      });
    }

    it('01: a refund processing at the first query, refunded at the second', async () => {
      const payment = tenpay();
      const orderNo = outTradeNo();
      await payment.micropay({ body: 'x', out_trade_no: orderNo, total_fee: 101, auth_code: authCode('00') });
      const refundNo = outRefundNo();
      await payment.refund({ out_trade_no: orderNo, out_refund_no: refundNo, total_fee: 101, refund_fee: 1 });
      const first = await payment.refundQuery({ out_refund_no: refundNo });
      assert.equal(first.refund_status_0, 'PROCESSING');
      assert.equal(first.refund_success_time_0, undefined);
      assert.equal((await payment.refundQuery({ out_refund_no: refundNo })).refund_status_0, 'SUCCESS');
    });

    it('surfaces refund refusals as their err_code (03: NOTENOUGH; an unknown number: REFUNDNOTEXIST)', async () => {
      const payment = tenpay();
      const orderNo = outTradeNo();
      await payment.micropay({ body: 'x', out_trade_no: orderNo, total_fee: 101, auth_code: authCode('00') });
      await assert.rejects(
        payment.refund({
          out_trade_no: orderNo,
          out_refund_no: outRefundNo(),
          total_fee: 101,
          refund_fee: 3,
        }),
        /^Error: NOTENOUGH$/,
      );
      await assert.rejects(payment.refundQuery({ out_refund_no: outRefundNo() }), /^Error: REFUNDNOTEXIST$/);
    });

    for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
      it(`pays, queries and reverses with sign_type ${signType}; tenpay's answer checks pass`, async () => {
        const payment = tenpay();
        const orderNo = outTradeNo();
        const paid = await payment.micropay({
          body: 'Sandbox goods',
          out_trade_no: orderNo,
          total_fee: 101,
          auth_code: authCode('00'),
          sign_type: signType,
        });
        assert.match(paid.transaction_id ?? '', transactionIdPattern);
        assert.equal(paid.out_trade_no, orderNo);
        assert.equal(paid.total_fee, '101');
        assert.equal(paid.sign_type, undefined);

        const byNumber = await payment.orderQuery({ out_trade_no: orderNo, sign_type: signType });
        assert.equal(byNumber.trade_state, 'SUCCESS');
        assert.equal(byNumber.transaction_id, paid.transaction_id);
        assert.equal(byNumber.cash_fee, '101');
        const byTransaction = await payment.orderQuery({
          transaction_id: paid.transaction_id ?? '',
          sign_type: signType,
        });
        assert.equal(byTransaction.out_trade_no, orderNo);

        const withoutCertificate = new Payment({
          appid: account.appid,
          mchid: account.mch_id,
          partnerKey: account.key,
        });
        withoutCertificate.urls.reverse = payment.urls.reverse ?? '';
        await assert.rejects(withoutCertificate.reverse({ out_trade_no: orderNo }), /证书错误/);
        const reversed = await payment.reverse({ out_trade_no: orderNo, sign_type: signType });
        assert.equal(reversed.recall, 'N');
        const after = await payment.orderQuery({ out_trade_no: orderNo, sign_type: signType });
        assert.equal(after.trade_state, 'REVOKED');
        assert.deepEqual(sandbox.callsFor(orderNo), {
          micropay: 1,
          orderquery: 3,
          reverse: 1,
          refund: 0,
          refundquery: 0,
        });
      });
    }

    it('surfaces a refusal as its err_code (03: NOTENOUGH)', async () => {
      await assert.rejects(
        tenpay().micropay({ body: 'x', out_trade_no: outTradeNo(), total_fee: 1, auth_code: authCode('03') }),
        /^Error: NOTENOUGH$/,
      );
    });

    it('01: USERPAYING, then paid at the second query', async () => {
      const payment = tenpay();
      const orderNo = outTradeNo();
      await assert.rejects(
        payment.micropay({ body: 'x', out_trade_no: orderNo, total_fee: 5, auth_code: authCode('01') }),
        /USERPAYING/,
      );
      assert.equal((await payment.orderQuery({ out_trade_no: orderNo })).trade_state, 'USERPAYING');
      const paid = await payment.orderQuery({ out_trade_no: orderNo });
      assert.equal(paid.trade_state, 'SUCCESS');
      assert.match(paid.transaction_id ?? '', transactionIdPattern);
    });
  });

  describe('mutual TLS on /secapi/', () => {
    it('refuses a reverse without a client certificate', async () => {
      const orderNo = (await pay('00')).out_trade_no ?? '';
      assertFail(await reverse({ out_trade_no: orderNo }, { certificate: undefined }), /^证书错误/);
      assert.equal((await call('/pay/orderquery', { out_trade_no: orderNo })).trade_state, 'SUCCESS');
    });

    it('refuses a certificate from another CA, and one issued for another mch_id', async () => {
      const orderNo = (await pay('00')).out_trade_no ?? '';
      const untrusted = createSandboxPki().issueClientCertificate(account.mch_id);
      assertFail(
        await reverse({ out_trade_no: orderNo }, { certificate: untrusted }),
        /^证书错误.*not trusted/,
      );
      const otherMerchant = pki.issueClientCertificate(other.mch_id);
      assertFail(
        await reverse({ out_trade_no: orderNo }, { certificate: otherMerchant }),
        /^证书错误.*1900000200/,
      );
      const reversed = await reverse({ out_trade_no: orderNo });
      assert.equal(reversed.result_code, 'SUCCESS');
      assert.equal(reversed.recall, 'N');
      assert.ok(verify(reversed, account.key, 'MD5'));
    });

    it('needs no certificate on /pay/', async () => {
      assert.equal((await pay('00', {}, { certificate: undefined })).result_code, 'SUCCESS');
    });
  });

  describe("WeChat's refusals", () => {
    it('APPID_MCHID_NOT_MATCH: an appid not bound to the mch_id', async () => {
      const stranger = { ...account, appid: other.appid };
      const answer = await pay('00', {}, { as: stranger });
      assertRefused(answer, 'APPID_MCHID_NOT_MATCH');
      assert.equal(answer.appid, other.appid);
    });

    it('LACK_PARAMS: a required field missing', async () => {
      assertRefused(await pay('00', { spbill_create_ip: '' }), 'LACK_PARAMS');
      assertRefused(await pay('00', { auth_code: '' }), 'LACK_PARAMS');
      assertRefused(await call('/pay/orderquery', {}), 'LACK_PARAMS');
      assertRefused(await reverse({}), 'LACK_PARAMS');
    });

    it('PARAM_ERROR: total_fee not a positive integer, unknown parameters, overlong ids', async () => {
      for (const total_fee of ['0', '1.5', '-1', '1e2']) {
        assertRefused(await pay('00', { total_fee }), 'PARAM_ERROR');
      }
      assertRefused(await pay('00', { merchant_id: 'M100000001' }), 'PARAM_ERROR');
      assertRefused(
        await call('/pay/orderquery', { out_trade_no: outTradeNo(), op_user_id: '1' }),
        'PARAM_ERROR',
      );
      assertRefused(await pay('00', { nonce_str: 'n'.repeat(33) }), 'PARAM_ERROR');
      assertRefused(await pay('00', { out_trade_no: 'o'.repeat(33) }), 'PARAM_ERROR');
      assert.equal(
        (await pay('00', { nonce_str: 'n'.repeat(32), out_trade_no: outTradeNo() })).result_code,
        'SUCCESS',
      );
    });

    it('AUTH_CODE_INVALID: not 18 digits starting 10–15', async () => {
      for (const auth_code of [
        `28${'0'.repeat(16)}`,
        '13456789012345670',
        '1345678901234567000',
        '16'.padEnd(18, '0'),
      ]) {
        assertRefused(await pay('00', { auth_code }), 'AUTH_CODE_INVALID');
      }
    });

    it('a reused out_trade_no: ORDERPAID, ORDERREVERSED, otherwise OUT_TRADE_NO_USED', async () => {
      const paidNo = (await pay('00')).out_trade_no ?? '';
      assertRefused(await pay('00', { out_trade_no: paidNo }), 'ORDERPAID');

      const reversedNo = (await pay('00')).out_trade_no ?? '';
      assert.equal((await reverse({ out_trade_no: reversedNo })).result_code, 'SUCCESS');
      assertRefused(await pay('00', { out_trade_no: reversedNo }), 'ORDERREVERSED');

      const payingNo = outTradeNo();
      assertRefused(await pay('01', { out_trade_no: payingNo }), 'USERPAYING');
      assertRefused(await pay('00', { out_trade_no: payingNo }), 'OUT_TRADE_NO_USED');
      assert.equal(sandbox.callsFor(payingNo).micropay, 2);
    });

    it('queries by transaction_id, which wins over out_trade_no', async () => {
      const first = await pay('00');
      const second = await pay('00');
      const answer = await call('/pay/orderquery', {
        transaction_id: first.transaction_id ?? '',
        out_trade_no: second.out_trade_no ?? '',
      });
      assert.equal(answer.out_trade_no, first.out_trade_no);
      assert.equal(answer.transaction_id, first.transaction_id);
      assert.equal(answer.trade_state, 'SUCCESS');
      assertRefused(
        await call('/pay/orderquery', { transaction_id: `4200${'0'.repeat(24)}` }),
        'ORDERNOTEXIST',
      );
      const unknown = await call('/pay/orderquery', { out_trade_no: outTradeNo() });
      assertRefused(unknown, 'ORDERNOTEXIST');
    });

    it('answers FAIL with only return_code and return_msg: bad signature, unknown mch_id, bad XML', async () => {
      assertFail(await pay('00', {}, { as: { ...account, key: 'x'.repeat(32) } }), /^签名错误$/);
      assertFail(
        await pay('00', {}, { as: { ...account, key: 'x'.repeat(32) }, signType: 'HMAC-SHA256' }),
        /签名错误/,
      );
      assertFail(await pay('00', {}, { as: { ...account, mch_id: '1999999999' } }), /mch_id/);
      assertFail(await pay('00', {}, { as: false }), /mch_id/);
      assertFail(await pay('00', { sign_type: 'SHA1' }), /sign_type/);
      assertFail(await call('/pay/micropay', {}, { raw: '<xml><a>1</a><a>2</a></xml>' }), /XML/);
      assertFail(await call('/pay/micropay', {}, { raw: '<!DOCTYPE x><xml></xml>' }), /XML/);
    });

    it('an unsigned request, its merchant known: FAIL with only return_code and return_msg, unsigned', async () => {
      const fields = {
        appid: account.appid,
        mch_id: account.mch_id,
        nonce_str: nonce(),
        body: 'Sandbox goods',
        out_trade_no: outTradeNo(),
        total_fee: '101',
        spbill_create_ip: '10.1.2.3',
        auth_code: authCode('00'),
      };
      for (const path of ['/pay/micropay', '/pay/orderquery']) {
        assertFail(await call(path, {}, { raw: toXml(fields) }), /缺少参数sign/);
      }
      const { nonce_str: _omitted, ...noNonce } = fields;
      assertFail(
        await call('/pay/micropay', {}, { raw: toXml({ ...noNonce, sign: 'A'.repeat(32) }) }),
        /nonce_str/,
      );
      // Nothing was taken: the sandbox holds no call for the number.
      assert.deepEqual(sandbox.callsFor(fields.out_trade_no), {
        micropay: 0,
        orderquery: 0,
        reverse: 0,
        refund: 0,
        refundquery: 0,
      });
    });

    it('orderquery for an order not paid answers out_trade_no, attach and the state, no payment fields', async () => {
      const number = outTradeNo();
      await pay('02', { out_trade_no: number, attach: 'till 4' });
      const answer = await call('/pay/orderquery', { out_trade_no: number });
      assert.equal(answer.trade_state, 'USERPAYING');
      assert.equal(answer.attach, 'till 4');
      for (const field of ['transaction_id', 'total_fee', 'cash_fee', 'time_end', 'bank_type']) {
        assert.equal(answer[field], undefined, field);
      }
      assert.ok(verify(answer, account.key, 'MD5'));
    });
  });

  describe('signing and the outcome table', () => {
    it('verifies HMAC-SHA256 (sign_type case-insensitive) and signs its answer the same way, without sign_type', async () => {
      const answer = await pay('00', {}, { signType: 'HMAC-SHA256' });
      assert.equal(answer.result_code, 'SUCCESS');
      assert.equal(answer.sign_type, undefined);
      assert.ok(verify(answer, account.key, 'HMAC-SHA256'));
      assert.ok(!verify(answer, account.key, 'MD5'));
      const unsigned = {
        appid: account.appid,
        mch_id: account.mch_id,
        nonce_str: nonce(),
        sign_type: 'hmac-sha256',
      };
      const query = { ...unsigned, out_trade_no: answer.out_trade_no ?? '' };
      const raw = toXml({ ...query, sign: sign(query, account.key, 'HMAC-SHA256') });
      const queried = await call('/pay/orderquery', {}, { raw });
      assert.equal(queried.trade_state, 'SUCCESS');
      assert.ok(verify(queried, account.key, 'HMAC-SHA256'));
    });

    it('09: the first reverse answers recall=Y, the second succeeds; 10 never does', async () => {
      const orderNo = outTradeNo();
      assertRefused(await pay('09', { out_trade_no: orderNo }), 'USERPAYING');
      const first = await reverse({ out_trade_no: orderNo });
      assertRefused(first, 'SYSTEMERROR');
      assert.equal(first.recall, 'Y');
      const second = await reverse({ out_trade_no: orderNo });
      assert.equal(second.result_code, 'SUCCESS');
      assert.equal(second.recall, 'N');

      const failing = outTradeNo();
      await pay('10', { out_trade_no: failing });
      for (let i = 0; i < 3; i += 1) assert.equal((await reverse({ out_trade_no: failing })).recall, 'Y');
      assert.deepEqual(sandbox.callsFor(failing), {
        micropay: 1,
        orderquery: 0,
        reverse: 3,
        refund: 0,
        refundquery: 0,
      });
    });

    it('06 and 07 do not answer; 06 paid all the same, 07 did not', async () => {
      const paidNo = outTradeNo();
      const lostNo = outTradeNo();
      await assert.rejects(pay('06', { out_trade_no: paidNo }));
      await assert.rejects(pay('07', { out_trade_no: lostNo }));
      assert.equal((await call('/pay/orderquery', { out_trade_no: paidNo })).trade_state, 'SUCCESS');
      assertRefused(await call('/pay/orderquery', { out_trade_no: lostNo }), 'ORDERNOTEXIST');
      // Reversing a number WeChat never saw closes it.
      assert.equal((await reverse({ out_trade_no: lostNo })).result_code, 'SUCCESS');
      assertRefused(await pay('00', { out_trade_no: lostNo }), 'ORDERREVERSED');
    });

    it('reports the calls it received for an order at GET /sandbox/calls/<out_trade_no>', async () => {
      const orderNo = (await pay('00')).out_trade_no ?? '';
      await call('/pay/orderquery', { out_trade_no: orderNo });
      const res = await fetch(`${url}/sandbox/calls/${orderNo}`);
      assert.deepEqual(await res.json(), {
        micropay: 1,
        orderquery: 1,
        reverse: 0,
        refund: 0,
        refundquery: 0,
      });
    });
  });
  describe('refunds: /secapi/pay/refund (mutual TLS) and /pay/refundquery', () => {
    const refund = (fields: Record<string, string>, options: CallOptions = {}) =>
      call('/secapi/pay/refund', fields, { certificate: client, ...options });
    const refundQuery = (fields: Record<string, string>, options: CallOptions = {}) =>
      call('/pay/refundquery', fields, options);
    /** A paid order of `total` fen; its out_trade_no. */
    const paidOrder = async (total = '101') => (await pay('00', { total_fee: total })).out_trade_no ?? '';
    const refundOf = (orderNo: string, fee: string, fields: Record<string, string> = {}) => ({
      out_trade_no: orderNo,
      out_refund_no: outRefundNo(),
      total_fee: '101',
      refund_fee: fee,
      ...fields,
    });

    it('takes the refund only with a client certificate from the test CA for the mch_id', async () => {
      const orderNo = await paidOrder();
      const fields = refundOf(orderNo, '40');
      assertFail(await refund(fields, { certificate: undefined }), /^证书错误/);
      const otherMerchant = pki.issueClientCertificate(other.mch_id);
      assertFail(await refund(fields, { certificate: otherMerchant }), /^证书错误.*1900000200/);
      assertRefused(await refundQuery({ out_refund_no: fields.out_refund_no }), 'REFUNDNOTEXIST');
      const accepted = await refund(fields);
      assert.equal(accepted.result_code, 'SUCCESS');
      assert.ok(verify(accepted, account.key, 'MD5'));
      // The query needs no certificate.
      assert.equal((await refundQuery({ out_refund_no: fields.out_refund_no })).refund_status_0, 'SUCCESS');
    });

    it('signs its answers the way the request was signed, and refuses a bad signature unsigned', async () => {
      const orderNo = await paidOrder();
      const fields = refundOf(orderNo, '40');
      const accepted = await refund(fields, { signType: 'HMAC-SHA256' });
      assert.equal(accepted.result_code, 'SUCCESS');
      assert.ok(verify(accepted, account.key, 'HMAC-SHA256'));
      const queried = await refundQuery({ out_refund_no: fields.out_refund_no }, { signType: 'HMAC-SHA256' });
      assert.ok(verify(queried, account.key, 'HMAC-SHA256'));
      assert.ok(!verify(queried, account.key, 'MD5'));
      const wrongKey = { ...account, key: 'x'.repeat(32) };
      assertFail(await refund(refundOf(orderNo, '10'), { as: wrongKey }), /^签名错误$/);
      assertFail(await refundQuery({ out_refund_no: fields.out_refund_no }, { as: wrongKey }), /^签名错误$/);
    });

    it('names one refund per number: again with the same amounts, the same refund; with another, REFUND_FEE_MISMATCH', async () => {
      const orderNo = await paidOrder();
      const fields = refundOf(orderNo, '40');
      const first = await refund(fields);
      assert.equal((await refund(fields)).refund_id, first.refund_id);
      assertRefused(await refund({ ...fields, refund_fee: '41' }), 'REFUND_FEE_MISMATCH');
      assertRefused(await refund(refundOf(orderNo, '40', { total_fee: '100' })), 'REFUND_FEE_MISMATCH');
      const byOrder = await refundQuery({ out_trade_no: orderNo });
      assert.deepEqual([byOrder.refund_count, byOrder.total_refund_count], ['1', '1']);
    });

    it('refuses more than is left to refund (INVALID_REQUEST); a closed refund frees its amount', async () => {
      const orderNo = await paidOrder();
      assert.equal((await refund(refundOf(orderNo, '60'))).result_code, 'SUCCESS');
      assertRefused(await refund(refundOf(orderNo, '50')), 'INVALID_REQUEST');
      // 05: processing, then REFUNDCLOSE at the first query: nothing refunded, so 41 fen are left again.
      const closing = refundOf(orderNo, '5');
      assert.equal((await refund(closing)).result_code, 'SUCCESS');
      assert.equal(
        (await refundQuery({ out_refund_no: closing.out_refund_no })).refund_status_0,
        'REFUNDCLOSE',
      );
      assert.equal((await refund(refundOf(orderNo, '41'))).result_code, 'SUCCESS');
    });

    it('04: processing, then CHANGE; its amount stays taken', async () => {
      const orderNo = await paidOrder();
      const fields = refundOf(orderNo, '4');
      assert.equal((await refund(fields)).result_code, 'SUCCESS');
      const queried = await refundQuery({ out_refund_no: fields.out_refund_no });
      assert.equal(queried.refund_status_0, 'CHANGE');
      assert.equal(queried.refund_success_time_0, undefined);
      assertRefused(await refund(refundOf(orderNo, '98')), 'INVALID_REQUEST');
    });

    it('06 and 07 do not answer the refund call; 06 refunded all the same, 07 refunds when sent again', async () => {
      const orderNo = await paidOrder();
      const taken = refundOf(orderNo, '6');
      const lost = refundOf(orderNo, '7');
      await assert.rejects(refund(taken));
      await assert.rejects(refund(lost));
      assert.equal((await refundQuery({ out_refund_no: taken.out_refund_no })).refund_status_0, 'SUCCESS');
      assertRefused(await refundQuery({ out_refund_no: lost.out_refund_no }), 'REFUNDNOTEXIST');
      const again = await refund(taken);
      assert.equal(again.result_code, 'SUCCESS');
      const sentAgain = await refund(lost);
      assert.equal(sentAgain.result_code, 'SUCCESS');
      assert.equal((await refundQuery({ refund_id: sentAgain.refund_id ?? '' })).refund_status_0, 'SUCCESS');
      // The query of 07's number before it was taken named no order the sandbox knew of: it counts under none.
      assert.deepEqual(sandbox.callsFor(orderNo), {
        micropay: 1,
        orderquery: 0,
        reverse: 0,
        refund: 4,
        refundquery: 2,
      });
    });

    it('lists an order’s refunds ten at a time as refund_*_$n, from offset, with total_refund_count', async () => {
      const orderNo = await paidOrder('200');
      const numbers: string[] = [];
      for (let i = 0; i < 12; i += 1) {
        const fields = refundOf(orderNo, '10', { total_fee: '200' });
        numbers.push(fields.out_refund_no);
        assert.equal((await refund(fields)).result_code, 'SUCCESS');
      }
      const first = await refundQuery({ out_trade_no: orderNo });
      assert.deepEqual([first.refund_count, first.total_refund_count], ['10', '12']);
      assert.deepEqual(
        Array.from({ length: 10 }, (_, n) => first[`out_refund_no_${n}`]),
        numbers.slice(0, 10),
      );
      assert.equal(first.out_refund_no_10, undefined);
      const rest = await refundQuery({ out_trade_no: orderNo, offset: '10' });
      assert.deepEqual(
        [rest.refund_count, rest.out_refund_no_0, rest.out_refund_no_1],
        ['2', numbers[10], numbers[11]],
      );
      assertRefused(await refundQuery({ out_trade_no: orderNo, offset: '12' }), 'PARAM_ERROR');
      const byTransaction = await refundQuery({ transaction_id: first.transaction_id ?? '' });
      assert.equal(byTransaction.total_refund_count, '12');
      // A refund number wins over the order's: only that refund, as entry 0.
      const one = await refundQuery({ out_trade_no: orderNo, out_refund_no: numbers[11] ?? '' });
      assert.deepEqual(
        [one.refund_count, one.out_refund_no_0, one.total_refund_count],
        ['1', numbers[11], undefined],
      );
    });

    it('refuses a refund of an order not paid, or unknown: ORDERNOTEXIST; a query of no refund: REFUNDNOTEXIST', async () => {
      const paying = outTradeNo();
      assertRefused(await pay('02', { out_trade_no: paying }), 'USERPAYING');
      assertRefused(await refund(refundOf(paying, '40')), 'ORDERNOTEXIST');
      assertRefused(await refund(refundOf(outTradeNo(), '40')), 'ORDERNOTEXIST');
      const reversed = await paidOrder();
      assert.equal(
        (await call('/secapi/pay/reverse', { out_trade_no: reversed }, { certificate: client })).result_code,
        'SUCCESS',
      );
      assertRefused(await refund(refundOf(reversed, '40')), 'ORDERNOTEXIST');
      assertRefused(await refundQuery({ out_trade_no: await paidOrder() }), 'REFUNDNOTEXIST');
      assertRefused(await refundQuery({ refund_id: `503${'0'.repeat(26)}` }), 'REFUNDNOTEXIST');
    });

    it('LACK_PARAMS and PARAM_ERROR as for its other endpoints', async () => {
      const orderNo = await paidOrder();
      for (const name of ['out_refund_no', 'total_fee', 'refund_fee']) {
        assertRefused(await refund(refundOf(orderNo, '40', { [name]: '' })), 'LACK_PARAMS');
      }
      assertRefused(await refund(refundOf('', '40')), 'LACK_PARAMS');
      assertRefused(await refundQuery({}), 'LACK_PARAMS');
      const malformed: Record<string, string>[] = [
        { refund_fee: '0' },
        { refund_fee: '1.5' },
        { refund_fee: '102' },
        { out_refund_no: 'r'.repeat(65) },
        { out_refund_no: 'refund/no.1' },
        { refund_desc: '退'.repeat(27) },
        { auth_code: authCode('00') },
      ];
      for (const fields of malformed) {
        assertRefused(await refund(refundOf(orderNo, '40', fields)), 'PARAM_ERROR');
      }
      assertRefused(await refundQuery({ out_trade_no: orderNo, offset: '-1' }), 'PARAM_ERROR');
      assertRefused(await refundQuery({ out_trade_no: orderNo, refund_fee: '1' }), 'PARAM_ERROR');
      const edge = refundOf(orderNo, '40', {
        out_refund_no: `r-_|*@${'9'.repeat(58)}`,
        refund_desc: '退'.repeat(26),
      });
      assert.equal((await refund(edge)).result_code, 'SUCCESS');
    });
  });
});
