import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'vitest';
import type { CallOutcome } from '#core/channels/alipay/answers.ts';
import {
  alipayRefundProtocol,
  endOfUtc8Day,
  refundQuerySubCodeClass,
  refundSubCodeClass,
} from '#core/channels/alipay/protocol.ts';
import {
  type AlipayBiz,
  type AlipayRefundExpectation,
  alipayRefunds,
  readRefundAnswer,
  readRefundQueryAnswer,
} from '#core/channels/alipay/refunds.ts';
import { rsa2Sign } from '#core/channels/alipay/wire.ts';
import type { RefundResult } from '#core/channels/channel.ts';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipayKeys = rsa();
const strangerKeys = rsa();

const expected: AlipayRefundExpectation = {
  alipayPublicKey: alipayKeys.publicKey,
  out_trade_no: '019b76daa80080d1fa57174f',
  total_fee: 1000,
  out_request_no: '019b76dc0000a1b2c3d4e5f6',
  refund_fee: 301,
};

type Node = Record<string, unknown>;
type Method = 'alipay.trade.refund' | 'alipay.trade.fastpay.refund.query';

interface AnswerOptions {
  readonly signWith?: KeyObject;
  readonly unsigned?: boolean;
  /** Applied to the whole answer text after signing. */
  readonly after?: (text: string) => string;
}

/** An answer as Alipay sends it: `{"<method>_response": node, "sign": RSA2(node as sent)}`. */
function answer(method: Method, node: Node, options: AnswerOptions = {}): CallOutcome {
  const raw = JSON.stringify(node);
  const sign = options.unsigned
    ? ''
    : `,"sign":${JSON.stringify(rsa2Sign(raw, options.signWith ?? alipayKeys.privateKey))}`;
  const text = `{"${method.replaceAll('.', '_')}_response":${raw}${sign}}`;
  return { kind: 'answer', text: options.after ? options.after(text) : text };
}

/** alipay.trade.refund's answer when the refund was made (the document's 正常示例, about our refund). */
const madeNode: Node = {
  code: '10000',
  msg: 'Success',
  trade_no: '2026010122001455610500012345',
  out_trade_no: expected.out_trade_no,
  buyer_logon_id: '159****5620',
  buyer_user_id: '2088101117955611',
  fund_change: 'Y',
  // What the trade has had refunded in all: an earlier 2.00 and this 3.01.
  refund_fee: '5.01',
  gmt_refund_pay: '2026-01-02 10:00:00',
};

/** A business refusal, as the document's 异常示例 writes one. */
const refusedNode = (subCode: string, extra: Node = {}): Node => ({
  code: '40004',
  msg: 'Business Failed',
  sub_code: subCode,
  sub_msg: '退款失败',
  out_trade_no: expected.out_trade_no,
  refund_fee: '0.00',
  send_back_fee: '0.00',
  ...extra,
});

/** alipay.trade.fastpay.refund.query's answer naming our refund. */
const foundNode = (extra: Node = {}): Node => ({
  code: '10000',
  msg: 'Success',
  trade_no: '2026010122001455610500012345',
  out_trade_no: expected.out_trade_no,
  out_request_no: expected.out_request_no,
  total_amount: '10.00',
  refund_amount: '3.01',
  ...extra,
});

const refund = (outcome: CallOutcome) => readRefundAnswer(outcome, expected);
const query = (outcome: CallOutcome) => readRefundQueryAnswer(outcome, expected);

interface Case {
  readonly name: string;
  readonly got: RefundResult;
  readonly kind: RefundResult['kind'];
  readonly said?: RegExp;
}

function check(cases: readonly Case[]) {
  for (const { name, got, kind, said } of cases) {
    it(name, () => {
      assert.equal(got.kind, kind, `${got.kind} (${got.said})`);
      if (said) assert.match(got.said, said);
      const decisive = ['refunded', 'failed', 'abnormal', 'absent'].includes(got.kind);
      // Only a verified answer decides: every decisive result carries the proof, nothing else does.
      assert.equal('proof' in got, decisive);
      if ('proof' in got) assert.equal(got.proof.basis, 'signature');
    });
  }
}

describe('alipay.trade.refund answers: fund_change=Y about this refund is the one proof of a refund', () => {
  check([
    {
      name: 'a signed 10000 fund_change=Y about this order',
      got: refund(answer('alipay.trade.refund', madeNode)),
      kind: 'refunded',
      said: /^10000 fund_change=Y$/,
    },
    {
      name: 'fund_change=N: accepted, query to know (a replay of a refund made, or one not made yet)',
      got: refund(answer('alipay.trade.refund', { ...madeNode, fund_change: 'N', refund_fee: '2.00' })),
      kind: 'processing',
      said: /^10000 fund_change=N$/,
    },
    {
      name: 'a 10000 without fund_change: query to know',
      got: refund(answer('alipay.trade.refund', { ...madeNode, fund_change: undefined })),
      kind: 'processing',
      said: /^10000 fund_change=-$/,
    },
    {
      name: 'unsigned',
      got: refund(answer('alipay.trade.refund', madeNode, { unsigned: true })),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'signed with another key (forged)',
      got: refund(answer('alipay.trade.refund', madeNode, { signWith: strangerKeys.privateKey })),
      kind: 'unknown',
      said: /^BAD_SIGNATURE$/,
    },
    {
      name: 'fund_change turned from N to Y after signing',
      got: refund(
        answer(
          'alipay.trade.refund',
          { ...madeNode, fund_change: 'N' },
          {
            after: (t) => t.replace('"fund_change":"N"', '"fund_change":"Y"'),
          },
        ),
      ),
      kind: 'unknown',
      said: /^BAD_SIGNATURE$/,
    },
    {
      name: 'about another order',
      got: refund(answer('alipay.trade.refund', { ...madeNode, out_trade_no: '019b76daa80080d1fa571700' })),
      kind: 'unknown',
      said: /^MISMATCH:out_trade_no$/,
    },
    {
      name: 'fund_change=Y naming no order',
      got: refund(answer('alipay.trade.refund', { ...madeNode, out_trade_no: undefined })),
      kind: 'unknown',
      said: /^MISMATCH:out_trade_no$/,
    },
    {
      name: "naming another refund's number",
      got: refund(answer('alipay.trade.refund', { ...madeNode, out_request_no: '019b76dc0000a1b2c3d4e5f7' })),
      kind: 'unknown',
      said: /^MISMATCH:out_request_no$/,
    },
    {
      name: 'fund_change=Y whose refunded total is less than this refund (another amount)',
      got: refund(answer('alipay.trade.refund', { ...madeNode, refund_fee: '3.00' })),
      kind: 'unknown',
      said: /^MISMATCH:refund_fee$/,
    },
    {
      name: 'a refunded total beyond the order',
      got: refund(answer('alipay.trade.refund', { ...madeNode, refund_fee: '10.01' })),
      kind: 'unknown',
      said: /^MISMATCH:refund_fee$/,
    },
    {
      name: 'fund_change=Y that states no refunded total',
      got: refund(answer('alipay.trade.refund', { ...madeNode, refund_fee: undefined })),
      kind: 'unknown',
      said: /^MISMATCH:refund_fee$/,
    },
    {
      name: 'a refunded total with more decimals than fen',
      got: refund(answer('alipay.trade.refund', { ...madeNode, refund_fee: '5.010' })),
      kind: 'unknown',
      said: /^MISMATCH:refund_fee$/,
    },
    {
      name: 'a refunded total as a JSON number',
      got: refund(answer('alipay.trade.refund', { ...madeNode, refund_fee: 5.01 })),
      kind: 'unknown',
      said: /^MISMATCH:refund_fee$/,
    },
    {
      name: 'a signed refusal about another order',
      got: refund(
        answer('alipay.trade.refund', refusedNode('ACQ.SELLER_BALANCE_NOT_ENOUGH', { out_trade_no: 'x1' })),
      ),
      kind: 'unknown',
      said: /^MISMATCH:out_trade_no$/,
    },
    {
      name: 'an unsigned refusal',
      got: refund(
        answer('alipay.trade.refund', refusedNode('ACQ.SELLER_BALANCE_NOT_ENOUGH'), { unsigned: true }),
      ),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'a sub_code Alipay never documented: sent again under the same number',
      got: refund(answer('alipay.trade.refund', refusedNode('ACQ.SOMETHING_NEW'))),
      kind: 'unknown',
      said: /^ACQ\.SOMETHING_NEW$/,
    },
    {
      name: '20000 (service unavailable): call again',
      got: refund(
        answer('alipay.trade.refund', {
          code: '20000',
          msg: 'Service Currently Unavailable',
          sub_code: 'isp.unknow-error',
        }),
      ),
      kind: 'retry',
      said: /^isp\.unknow-error$/,
    },
    {
      name: '40002 isv.invalid-signature: the gateway refused the request, nothing was refunded',
      got: refund(
        answer('alipay.trade.refund', {
          code: '40002',
          msg: 'Invalid Arguments',
          sub_code: 'isv.invalid-signature',
        }),
      ),
      kind: 'failed',
      said: /^isv\.invalid-signature$/,
    },
    {
      name: 'a code Alipay never documented',
      got: refund(answer('alipay.trade.refund', { code: '10009', msg: '?' })),
      kind: 'unknown',
    },
    {
      name: 'a node without a code',
      got: refund(answer('alipay.trade.refund', { msg: 'Success', fund_change: 'Y' })),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'an unsigned error_response (the gateway never got to the method)',
      got: refund({
        kind: 'answer',
        text: '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}',
      }),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: "the query's answer where the refund's was expected",
      got: refund(answer('alipay.trade.fastpay.refund.query', madeNode)),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'a truncated body',
      got: refund(answer('alipay.trade.refund', madeNode, { after: (t) => t.slice(0, 60) })),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'not JSON',
      got: refund({ kind: 'answer', text: '<html>502</html>' }),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'no answer in time',
      got: refund({ kind: 'none', said: 'TIMEOUT' }),
      kind: 'unknown',
      said: /^TIMEOUT$/,
    },
  ]);

  it('no Alipay public key: nothing is verified, nothing decided', () => {
    const got = readRefundAnswer(answer('alipay.trade.refund', madeNode), {
      ...expected,
      alipayPublicKey: undefined,
    });
    assert.deepEqual(got, { kind: 'unknown', said: 'NO_ALIPAY_PUBLIC_KEY' });
  });

  it('a refund made carries when Alipay made it (gmt_refund_pay, UTC+8)', () => {
    const got = refund(answer('alipay.trade.refund', madeNode));
    assert.ok(got.kind === 'refunded');
    assert.equal(got.refund_time, Date.parse('2026-01-02T02:00:00Z') / 1000);
    assert.equal(got.ch_refund_id, undefined);
  });

  it("every sub_code of the document's 业务错误码 table, classed as its 解决方案 says", () => {
    const documented: Record<string, RefundResult['kind']> = {
      'ACQ.SYSTEM_ERROR': 'retry',
      'ACQ.REFUND_CHARGE_ERROR': 'retry',
      'ACQ.DISCORDANT_REPEAT_REQUEST': 'processing',
      'ACQ.REASON_TRADE_REFUND_FEE_ERR': 'failed',
      'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL': 'failed',
      'ACQ.SELLER_BALANCE_NOT_ENOUGH': 'failed',
      'ACQ.TRADE_NOT_EXIST': 'failed',
      'ACQ.TRADE_STATUS_ERROR': 'failed',
      'ACQ.TRADE_HAS_CLOSE': 'failed',
      'ACQ.TRADE_HAS_FINISHED': 'failed',
      'ACQ.TRADE_NOT_ALLOW_REFUND': 'failed',
      'ACQ.REASON_TRADE_BEEN_FREEZEN': 'failed',
      'ACQ.ONLINE_TRADE_VOUCHER_NOT_ALLOW_REFUND': 'failed',
      'ACQ.NOT_ALLOW_PARTIAL_REFUND': 'failed',
      'ACQ.INVALID_PARAMETER': 'failed',
      'ACQ.BUYER_NOT_EXIST': 'failed',
      'ACQ.CUSTOMER_VALIDATE_ERROR': 'failed',
    };
    for (const [subCode, kind] of Object.entries(documented)) {
      const got = refund(
        answer('alipay.trade.refund', refusedNode(subCode, { sub_msg: `${subCode} 286789012345678900` })),
      );
      assert.equal(got.kind, kind, subCode);
      assert.equal(got.said, subCode);
      if (got.kind === 'failed') {
        assert.equal(got.errCode, subCode);
        // Alipay's text is kept, a payment-code-long run of digits masked.
        assert.equal(got.errMsg, `${subCode} 2867**********8900`);
      }
    }
    for (const [subCode, kind] of Object.entries(refundSubCodeClass)) {
      const got = refund(answer('alipay.trade.refund', refusedNode(subCode)));
      assert.equal(got.kind, kind === 'query' ? 'processing' : kind, subCode);
    }
    assert.equal(Object.keys(refundSubCodeClass).length, 31);
  });
});

describe('alipay.trade.fastpay.refund.query answers: REFUND_SUCCESS about this refund and amount', () => {
  check([
    {
      name: 'REFUND_SUCCESS about this refund and amount',
      got: query(answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_SUCCESS' }))),
      kind: 'refunded',
      said: /^REFUND_SUCCESS$/,
    },
    {
      name: 'no refund_status on an answer stating our refund: still being made',
      got: query(answer('alipay.trade.fastpay.refund.query', foundNode())),
      kind: 'processing',
      said: /^NO_REFUND_STATUS$/,
    },
    {
      name: 'REFUND_PROCESSING',
      got: query(
        answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_PROCESSING' })),
      ),
      kind: 'processing',
      said: /^REFUND_PROCESSING$/,
    },
    {
      name: 'REFUND_FAIL: nothing was refunded',
      got: query(answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_FAIL' }))),
      kind: 'failed',
      said: /^REFUND_FAIL$/,
    },
    {
      name: 'a 10000 that states no refund (the number echoed, no amount): absent, sent again',
      got: query(
        answer('alipay.trade.fastpay.refund.query', {
          code: '10000',
          msg: 'Success',
          out_trade_no: expected.out_trade_no,
          out_request_no: expected.out_request_no,
        }),
      ),
      kind: 'absent',
      said: /^NO_SUCH_REFUND$/,
    },
    {
      name: 'a bare 10000: absent',
      got: query(answer('alipay.trade.fastpay.refund.query', { code: '10000', msg: 'Success' })),
      kind: 'absent',
    },
    {
      name: 'ACQ.TRADE_NOT_EXIST: no such trade, so no such refund',
      got: query(
        answer('alipay.trade.fastpay.refund.query', {
          code: '40004',
          msg: 'Business Failed',
          sub_code: 'ACQ.TRADE_NOT_EXIST',
        }),
      ),
      kind: 'absent',
      said: /^ACQ\.TRADE_NOT_EXIST$/,
    },
    {
      name: 'TRADE_NOT_EXIST (older documents)',
      got: query(
        answer('alipay.trade.fastpay.refund.query', {
          code: '40004',
          msg: 'Business Failed',
          sub_code: 'TRADE_NOT_EXIST',
        }),
      ),
      kind: 'absent',
    },
    {
      name: 'ACQ.SYSTEM_ERROR: query again',
      got: query(
        answer('alipay.trade.fastpay.refund.query', {
          code: '40004',
          msg: 'Business Failed',
          sub_code: 'ACQ.SYSTEM_ERROR',
        }),
      ),
      kind: 'retry',
    },
    {
      name: '20000: query again',
      got: query(
        answer('alipay.trade.fastpay.refund.query', { code: '20000', msg: 'Service Currently Unavailable' }),
      ),
      kind: 'retry',
    },
    {
      name: 'ACQ.INVALID_PARAMETER: says nothing about the refund',
      got: query(
        answer('alipay.trade.fastpay.refund.query', {
          code: '40004',
          msg: 'Business Failed',
          sub_code: 'ACQ.INVALID_PARAMETER',
        }),
      ),
      kind: 'unknown',
    },
    {
      name: 'a gateway refusal (40002): a query never refuses a refund',
      got: query(
        answer('alipay.trade.fastpay.refund.query', {
          code: '40002',
          msg: 'Invalid Arguments',
          sub_code: 'isv.invalid-signature',
        }),
      ),
      kind: 'unknown',
    },
    {
      name: 'a refund_status Alipay never documented',
      got: query(answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_MAYBE' }))),
      kind: 'unknown',
      said: /^REFUND_MAYBE$/,
    },
    {
      name: 'REFUND_SUCCESS unsigned',
      got: query(
        answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_SUCCESS' }), {
          unsigned: true,
        }),
      ),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'REFUND_SUCCESS signed with another key (forged)',
      got: query(
        answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_SUCCESS' }), {
          signWith: strangerKeys.privateKey,
        }),
      ),
      kind: 'unknown',
      said: /^BAD_SIGNATURE$/,
    },
    {
      name: 'REFUND_SUCCESS written in after signing',
      got: query(
        answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_FAIL' }), {
          after: (t) => t.replace('REFUND_FAIL', 'REFUND_SUCCESS'),
        }),
      ),
      kind: 'unknown',
      said: /^BAD_SIGNATURE$/,
    },
    {
      name: 'REFUND_SUCCESS of another refund (another out_request_no)',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_SUCCESS', out_request_no: 'another-refund' }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:out_request_no$/,
    },
    {
      name: 'REFUND_SUCCESS naming no refund number',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_SUCCESS', out_request_no: undefined }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:out_request_no$/,
    },
    {
      name: 'REFUND_SUCCESS for another amount',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_SUCCESS', refund_amount: '3.00' }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:refund_amount$/,
    },
    {
      name: 'REFUND_SUCCESS stating no amount',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_SUCCESS', refund_amount: undefined }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:refund_amount$/,
    },
    {
      name: 'REFUND_SUCCESS whose amount is a JSON number',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_SUCCESS', refund_amount: 3.01 }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:refund_amount$/,
    },
    {
      name: 'REFUND_SUCCESS about another order',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_SUCCESS', out_trade_no: 'x1' }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:out_trade_no$/,
    },
    {
      name: 'REFUND_SUCCESS of an order of another amount',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_SUCCESS', total_amount: '9.99' }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:total_amount$/,
    },
    {
      name: 'REFUND_FAIL of another refund',
      got: query(
        answer(
          'alipay.trade.fastpay.refund.query',
          foundNode({ refund_status: 'REFUND_FAIL', out_request_no: 'another-refund' }),
        ),
      ),
      kind: 'unknown',
      said: /^MISMATCH:out_request_no$/,
    },
    {
      name: "an answer stating no refund, but another refund's number",
      got: query(
        answer('alipay.trade.fastpay.refund.query', {
          code: '10000',
          msg: 'Success',
          out_request_no: 'another-refund',
        }),
      ),
      kind: 'unknown',
      said: /^MISMATCH:out_request_no$/,
    },
    {
      name: 'an unsigned "no such refund"',
      got: query(
        answer('alipay.trade.fastpay.refund.query', { code: '10000', msg: 'Success' }, { unsigned: true }),
      ),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: "the refund call's answer where the query's was expected",
      got: query(answer('alipay.trade.refund', foundNode({ refund_status: 'REFUND_SUCCESS' }))),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'a body cut short',
      got: query(answer('alipay.trade.fastpay.refund.query', foundNode(), { after: (t) => t.slice(0, 90) })),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'an HTTP error',
      got: query({ kind: 'none', said: 'HTTP_502' }),
      kind: 'unknown',
      said: /^HTTP_502$/,
    },
  ]);

  it('REFUND_SUCCESS carries when Alipay made the refund, where it says', () => {
    const got = query(
      answer(
        'alipay.trade.fastpay.refund.query',
        foundNode({ refund_status: 'REFUND_SUCCESS', gmt_refund_pay: '2026-01-02 10:00:05' }),
      ),
    );
    assert.ok(got.kind === 'refunded');
    assert.equal(got.refund_time, Date.parse('2026-01-02T02:00:05Z') / 1000);
  });

  it('the query error table names the documented codes', () => {
    assert.deepEqual(refundQuerySubCodeClass, {
      'ACQ.SYSTEM_ERROR': 'retry',
      'ACQ.TRADE_NOT_EXIST': 'absent',
      TRADE_NOT_EXIST: 'absent',
      'ACQ.INVALID_PARAMETER': 'unknown',
    });
  });
});

describe('the Alipay refund calls', () => {
  it('send our refund number as out_request_no and the amount in yuan; the query asks for the refund time', async () => {
    const sent: { method: string; biz: AlipayBiz }[] = [];
    const refunds = alipayRefunds(
      async (_ctx, method, _deadline, biz) => {
        sent.push({ method, biz });
        return method === 'alipay.trade.refund'
          ? answer('alipay.trade.refund', madeNode)
          : answer('alipay.trade.fastpay.refund.query', foundNode({ refund_status: 'REFUND_SUCCESS' }));
      },
      () => alipayKeys.publicKey,
    );
    const ctx = { account: { app_id: '2021000000000001' }, credentials: {} };
    const command = {
      out_trade_no: expected.out_trade_no,
      total_fee: expected.total_fee,
      out_refund_no: expected.out_request_no,
      refund_fee: expected.refund_fee,
      refund_desc: '退货',
    };
    assert.equal((await refunds.refund(ctx, command, 1000)).kind, 'refunded');
    assert.equal((await refunds.query(ctx, command, 1000)).kind, 'refunded');
    assert.deepEqual(sent, [
      {
        method: 'alipay.trade.refund',
        biz: {
          out_trade_no: expected.out_trade_no,
          refund_amount: '3.01',
          out_request_no: expected.out_request_no,
          refund_reason: '退货',
        },
      },
      {
        method: 'alipay.trade.fastpay.refund.query',
        biz: {
          out_trade_no: expected.out_trade_no,
          out_request_no: expected.out_request_no,
          query_options: ['gmt_refund_pay'],
        },
      },
    ]);
    assert.equal(refunds.protocol, alipayRefundProtocol);
  });
});

describe('the Alipay refund protocol', () => {
  it('first query 10 s after an accepted answer, then backing off; followed 72 h before alarming', () => {
    assert.equal(alipayRefundProtocol.queryDelaysMs[0], 10_000);
    const delays = alipayRefundProtocol.queryDelaysMs;
    for (let i = 1; i < delays.length; i += 1) assert.ok((delays[i] as number) > (delays[i - 1] as number));
    // Refunds of one trade at least 3 s apart.
    assert.ok(alipayRefundProtocol.resendDelaysMs.every((ms) => ms >= 3_000));
    assert.ok(alipayRefundProtocol.overdueAfterMs >= 72 * 3600 * 1000);
    assert.match(alipayRefundProtocol.source, /alipay\.trade\.refund/);
    assert.match(alipayRefundProtocol.source, /alipay\.trade\.fastpay\.refund\.query/);
    assert.match(alipayRefundProtocol.source, /opendocs\.alipay\.com/);
  });

  it('a paid trade may be cancelled until the end of its day of payment in UTC+8', () => {
    const until = alipayRefundProtocol.reverseUntil;
    assert.ok(until);
    // 00:00:00 and 23:59:59 of 2026-01-01 in UTC+8: both until 23:59:59.999 of that day.
    assert.equal(until(Date.parse('2025-12-31T16:00:00Z')), Date.parse('2026-01-01T15:59:59.999Z'));
    assert.equal(until(Date.parse('2026-01-01T15:59:59Z')), Date.parse('2026-01-01T15:59:59.999Z'));
    // 08:00 UTC on 2026-01-01 is 16:00 the same day in UTC+8; 16:00 UTC is already the 2nd.
    assert.equal(until(Date.parse('2026-01-01T08:00:00Z')), Date.parse('2026-01-01T15:59:59.999Z'));
    assert.equal(until(Date.parse('2026-01-01T16:00:00Z')), Date.parse('2026-01-02T15:59:59.999Z'));
    assert.equal(endOfUtc8Day(Date.parse('2028-02-28T20:00:00Z')), Date.parse('2028-02-29T15:59:59.999Z'));
  });
});
