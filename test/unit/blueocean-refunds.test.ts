import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'vitest';
import { blueocean } from '#core/channels/blueocean/index.ts';
import {
  blueoceanRefundProtocol,
  refundCodeClass,
  refundNotFoundCodes,
  refundStatusClass,
} from '#core/channels/blueocean/protocol.ts';
import {
  type BlueoceanRefundExpectation,
  readRefundAnswer,
  readRefundQueryAnswer,
} from '#core/channels/blueocean/refunds.ts';
import type { ChannelContext, RefundCommand, RefundResult } from '#core/channels/channel.ts';
import type { CallOutcome, ChannelHttp } from '#core/channels/kit/http.ts';

const key = 'sandboxblueoceankey0123456789abc';
const expected: BlueoceanRefundExpectation = {
  key,
  out_trade_no: '019b76daa80080d1fa57174f',
  total_fee: 1000,
  out_refund_no: '019b76dc11aa80d1fa571e02',
  refund_fee: 300,
  currency: 'HKD',
  overTls: true,
};

type Fields = Record<string, string | number>;

/** BlueOcean's PHP reference signer (README 1.3 signData), written out independently: every field but sign. */
function phpSign(fields: Fields, signKey: string): string {
  const text = Object.keys(fields)
    .filter((k) => k !== 'sign' && k !== 'key')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .concat(`key=${signKey}`)
    .join('&');
  return createHash('md5').update(text).digest('hex').toUpperCase();
}

function signed(data: Fields, options: { signWith?: string; unsigned?: boolean } = {}): Fields {
  const body: Fields = { appid: '1000258', nonce_str: 'LYuqnmuIlk', ...data };
  if (!options.unsigned) body.sign = phpSign(body, options.signWith ?? key);
  return body;
}

const answer = (document: unknown): CallOutcome => ({ kind: 'answer', text: JSON.stringify(document) });
const ok = (data: Fields, options?: { signWith?: string; unsigned?: boolean }) =>
  answer({ code: 200, message: 'success', data: signed(data, options) });

/** The fields wechat/payment-refund.md lists for a `code=200` refund answer: no refund state. */
const wechatRefundData: Fields = {
  transaction_id: '4200000030201710199028128455',
  out_trade_no: expected.out_trade_no,
  out_refund_no: expected.out_refund_no,
  refund_id: '50000205722018020803496119655',
  total_fee: 1000,
  fee_type: 'HKD',
  refund_fee: 300,
  refund_fee_type: 'HKD',
  cash_fee: 920,
  cash_fee_type: 'CNY',
  cash_refund_fee: 276,
  cash_refund_fee_type: 'CNY',
  rate: '0.92000000',
};

/** zh_CN.md 2.2 响应示例's fields (the unified refund answer), about our refund. */
const unifiedRefundData: Fields = {
  attach: '',
  cash_fee: '0',
  cash_fee_type: '',
  fee_type: 'HKD',
  out_refund_no: expected.out_refund_no,
  out_trade_no: expected.out_trade_no,
  provider: 'wechat',
  refund_desc: '',
  refund_fee: '300',
  refund_status: 'SUCCESS',
  refund_time: '1523501406',
  sn: '1120180412105004328630663',
  total_fee: '1000',
  trade_state: 'REFUND',
  trade_type: 'MICROPAY',
  transaction_id: '4200000030201710199028128455',
};

/** wechat/payment-refundquery.md's answer: the order's refunds as `_$n` entries; ours is entry 1. */
const orderRefunds = (status: string, ours: Partial<Fields> = {}): Fields => ({
  out_trade_no: expected.out_trade_no,
  transaction_id: '4200000030201710199028128455',
  total_fee: 1000,
  fee_type: 'HKD',
  cash_fee: 920,
  cash_fee_type: 'CNY',
  refund_count: 2,
  refund_fee: 500,
  out_refund_no_0: '019b76db0000000000000001',
  refund_fee_0: 200,
  refund_id_0: '50000205722018020803496110000',
  refund_status_0: 'SUCCESS',
  refund_recv_accout_0: '支付用户的零钱',
  out_refund_no_1: expected.out_refund_no,
  refund_fee_1: 300,
  refund_id_1: '50000205722018020803496111111',
  refund_status_1: status,
  refund_recv_accout_1: '支付用户的零钱',
  ...ours,
});

const kindOf = (result: RefundResult) => [result.kind, result.said];
const proofBasis = (result: RefundResult) => ('proof' in result ? result.proof.basis : undefined);

describe('BlueOcean refund answer', () => {
  it("reads the wechat generation's 200 (no refund state) as accepted: the refund query follows it", () => {
    const result = readRefundAnswer(ok(wechatRefundData), expected);
    assert.deepEqual(result, {
      kind: 'processing',
      ch_refund_id: '50000205722018020803496119655',
      said: '200',
    });
  });

  it("reads the unified answer's refund_status as documented (zh_CN.md 2.2, 2.5)", () => {
    const refunded = readRefundAnswer(ok(unifiedRefundData), expected);
    assert.equal(refunded.kind, 'refunded');
    assert.equal(proofBasis(refunded), 'signature');
    assert.equal(refunded.kind === 'refunded' && refunded.refund_time, 1523501406);
    const states: Record<string, string> = {
      SUCCESS: 'refunded',
      PROCESSING: 'processing',
      REFUNDCLOSE: 'failed',
      CHANGE: 'abnormal',
    };
    for (const [status, kind] of Object.entries(states)) {
      const result = readRefundAnswer(ok({ ...unifiedRefundData, refund_status: status }), expected);
      assert.deepEqual(kindOf(result), [kind, status], status);
      assert.equal(refundStatusClass[status]?.kind, kind);
    }
    const closed = readRefundAnswer(ok({ ...unifiedRefundData, refund_status: 'REFUNDCLOSE' }), expected);
    assert.deepEqual(closed.kind === 'failed' && [closed.errCode, closed.errMsg], [
      'REFUNDCLOSE',
      '退款关闭',
    ]);
    const odd = readRefundAnswer(ok({ ...unifiedRefundData, refund_status: 'NEWSTATE' }), expected);
    assert.deepEqual(kindOf(odd), ['unknown', 'NEWSTATE']);
  });

  it('decides nothing on a forged, unsigned or malformed answer, or none', () => {
    assert.deepEqual(
      kindOf(readRefundAnswer(ok(unifiedRefundData, { signWith: 'x'.repeat(32) }), expected)),
      ['unknown', 'BAD_SIGNATURE'],
    );
    assert.deepEqual(kindOf(readRefundAnswer(ok(unifiedRefundData, { unsigned: true }), expected)), [
      'unknown',
      'UNSIGNED',
    ]);
    assert.deepEqual(kindOf(readRefundAnswer({ kind: 'answer', text: '{"code":200,' }, expected)), [
      'unknown',
      'MALFORMED',
    ]);
    assert.deepEqual(kindOf(readRefundAnswer(answer({ code: 200, message: 'success' }), expected)), [
      'unknown',
      'MALFORMED',
    ]);
    assert.deepEqual(kindOf(readRefundAnswer({ kind: 'none', said: 'TIMEOUT' }, expected)), [
      'unknown',
      'TIMEOUT',
    ]);
  });

  it('decides nothing on an answer about another refund, order, amount or currency, or one that names none', () => {
    const cases: [Fields, string][] = [
      [{ out_refund_no: '019b76dc11aa80d1fa571e03' }, 'MISMATCH:out_refund_no'],
      [{ out_trade_no: '019b76daa80080d1fa571700' }, 'MISMATCH:out_trade_no'],
      [{ refund_fee: 301 }, 'MISMATCH:refund_fee'],
      [{ total_fee: 1001 }, 'MISMATCH:total_fee'],
      [{ fee_type: 'USD' }, 'MISMATCH:fee_type'],
      [{ refund_fee_type: 'CNY' }, 'MISMATCH:refund_fee_type'],
      [{ out_refund_no: '' }, 'MISMATCH:out_refund_no'],
    ];
    for (const [change, said] of cases) {
      for (const data of [wechatRefundData, unifiedRefundData]) {
        const result = readRefundAnswer(ok({ ...data, ...change }), expected);
        assert.deepEqual(kindOf(result), ['unknown', said], JSON.stringify(change));
      }
    }
    const { refund_fee: _, ...noAmount } = unifiedRefundData;
    assert.deepEqual(kindOf(readRefundAnswer(ok(noAmount), expected)), ['unknown', 'MISMATCH:refund_fee']);
  });

  it('reads every documented error code as its class (failed: bare, over TLS; query; retry)', () => {
    for (const [code, cls] of Object.entries(refundCodeClass)) {
      const result = readRefundAnswer(answer({ code: Number(code), message: `说${code}` }), expected);
      const kind = { failed: 'failed', query: 'processing', retry: 'retry' }[cls];
      assert.deepEqual(kindOf(result), [kind, code], code);
      if (result.kind === 'failed') {
        assert.deepEqual(
          [result.errCode, result.errMsg, result.proof.basis],
          [code, `说${code}`, 'transport'],
        );
      }
    }
    // Codes the refund table does not name (pay's, new ones) are sent again under the same number.
    for (const code of ['40101', '40106', '40111', '123456']) {
      assert.deepEqual(kindOf(readRefundAnswer(answer({ code, message: '?' }), expected)), ['retry', code]);
    }
    // The merchant's balance is short (40107): refused, nothing refunded.
    assert.equal(refundCodeClass['40107'], 'failed');
    // "Already refunded" and "refund number repeated" may be this very refund: the query decides.
    assert.deepEqual([refundCodeClass['40105'], refundCodeClass['493001']], ['query', 'query']);
  });

  it('counts an unsigned refusal only bare and over verified TLS', () => {
    const refusal = answer({ code: 40107, message: '余额不足' });
    assert.deepEqual(kindOf(readRefundAnswer(refusal, { ...expected, overTls: false })), [
      'unknown',
      'UNSIGNED_WITHOUT_TLS',
    ]);
    const padded = answer({ code: 40107, message: '余额不足', refund_status: 'SUCCESS' });
    assert.deepEqual(kindOf(readRefundAnswer(padded, expected)), ['unknown', 'UNSIGNED_WITH_EXTRA_FIELDS']);
    // A refusal with data must be signed, and about this refund.
    const aboutAnother = answer({
      code: 40100,
      message: '无效请求',
      data: signed({ out_refund_no: 'another-refund-number-00' }),
    });
    assert.deepEqual(kindOf(readRefundAnswer(aboutAnother, expected)), ['unknown', 'MISMATCH:out_refund_no']);
  });
});

describe('BlueOcean refund query by order (wechat generation: payment-refundquery.md)', () => {
  const read = (outcome: CallOutcome, e = expected) => readRefundQueryAnswer(outcome, e, 'order');

  it('reads our `_$n` entry among the order refunds, by its refund_status', () => {
    const states: Record<string, string> = {
      SUCCESS: 'refunded',
      PROCESSING: 'processing',
      REFUNDCLOSE: 'failed',
      CHANGE: 'abnormal',
      NEWSTATE: 'unknown',
      '': 'unknown',
    };
    for (const [status, kind] of Object.entries(states)) {
      const result = read(ok(orderRefunds(status)));
      assert.deepEqual(kindOf(result), [kind, status || 'UNKNOWN'], status);
    }
    const refunded = read(ok(orderRefunds('SUCCESS')));
    assert.deepEqual(refunded.kind === 'refunded' && [refunded.ch_refund_id, refunded.refund_time], [
      '50000205722018020803496111111',
      undefined,
    ]);
    const abnormal = read(ok(orderRefunds('CHANGE')));
    assert.equal(abnormal.kind === 'abnormal' && abnormal.ch_refund_id, '50000205722018020803496111111');
  });

  it('takes refund_success_time (no `$n` in the document) only when the order lists one refund', () => {
    const single: Fields = {
      out_trade_no: expected.out_trade_no,
      total_fee: 1000,
      refund_count: 1,
      refund_fee: 300,
      out_refund_no_0: expected.out_refund_no,
      refund_fee_0: 300,
      refund_id_0: '50000205722018020803496111111',
      refund_status_0: 'SUCCESS',
      refund_success_time: '2017-01-01 08:00:00',
    };
    const result = read(ok(single));
    assert.equal(result.kind === 'refunded' && result.refund_time, Date.UTC(2017, 0, 1) / 1000);
    const two = read(ok(orderRefunds('SUCCESS', { refund_success_time: '2017-01-01 08:00:00' })));
    assert.equal(two.kind === 'refunded' && two.refund_time, undefined);
  });

  it('is absent when a verified list of our order lacks our refund, or BlueOcean has no record (40102)', () => {
    const { out_refund_no_1: _, ...withoutOurs } = orderRefunds('SUCCESS');
    const absent = read(ok(withoutOurs));
    assert.deepEqual([...kindOf(absent), proofBasis(absent)], ['absent', 'NOT_LISTED', 'signature']);
    const noRecord = read(answer({ code: 40102, message: '订单不存在' }));
    assert.deepEqual([...kindOf(noRecord), proofBasis(noRecord)], ['absent', '40102', 'transport']);
    assert.deepEqual(refundNotFoundCodes, ['40102', '492002']);
    // Not about our order, unsigned, or without TLS: nothing decided.
    assert.deepEqual(kindOf(read(ok({ ...withoutOurs, out_trade_no: 'another-order-000000000' }))), [
      'unknown',
      'MISMATCH:out_trade_no',
    ]);
    assert.deepEqual(kindOf(read(ok(withoutOurs, { unsigned: true }))), ['unknown', 'UNSIGNED']);
    assert.deepEqual(
      kindOf(read(answer({ code: 40102, message: '订单不存在' }), { ...expected, overTls: false })),
      ['unknown', 'UNSIGNED_WITHOUT_TLS'],
    );
  });

  it('decides nothing when our entry states another amount, is listed twice, or the answer is forged or busy', () => {
    // Our entry's own amount counts (not the order's total refunded, here 300 as if it were ours).
    assert.deepEqual(kindOf(read(ok(orderRefunds('SUCCESS', { refund_fee_1: 299, refund_fee: 300 })))), [
      'unknown',
      'MISMATCH:refund_fee',
    ]);
    assert.deepEqual(kindOf(read(ok(orderRefunds('SUCCESS', { total_fee: 999 })))), [
      'unknown',
      'MISMATCH:total_fee',
    ]);
    assert.deepEqual(kindOf(read(ok(orderRefunds('SUCCESS', { out_refund_no_0: expected.out_refund_no })))), [
      'unknown',
      'AMBIGUOUS',
    ]);
    assert.deepEqual(kindOf(read(ok(orderRefunds('SUCCESS'), { signWith: 'y'.repeat(32) }))), [
      'unknown',
      'BAD_SIGNATURE',
    ]);
    assert.deepEqual(kindOf(read(answer({ code: 40400, message: '系统繁忙' }))), ['unknown', '40400']);
    assert.deepEqual(kindOf(read({ kind: 'answer', text: 'not json' })), ['unknown', 'MALFORMED']);
  });
});

describe('BlueOcean refund query by refund (unified: zh_CN.md 2.2.1)', () => {
  const read = (outcome: CallOutcome) => readRefundQueryAnswer(outcome, expected, 'refund');
  const queried = { ...unifiedRefundData, refund_time: '2020-12-10 13:14:49' };

  it('reads the refund by its refund_status, its time in Hong Kong time', () => {
    const result = read(ok(queried));
    assert.equal(result.kind === 'refunded' && result.refund_time, Date.UTC(2020, 11, 10, 5, 14, 49) / 1000);
    assert.deepEqual(kindOf(read(ok({ ...queried, refund_status: 'PROCESSING', refund_time: '' }))), [
      'processing',
      'PROCESSING',
    ]);
    assert.deepEqual(kindOf(read(answer({ code: 492002, message: '数据不存在' }))), ['absent', '492002']);
  });

  it('decides nothing on another refund or amount', () => {
    assert.deepEqual(kindOf(read(ok({ ...queried, out_refund_no: 'x-another-refund-0000' }))), [
      'unknown',
      'MISMATCH:out_refund_no',
    ]);
    assert.deepEqual(kindOf(read(ok({ ...queried, refund_fee: '30' }))), ['unknown', 'MISMATCH:refund_fee']);
  });
});

describe('BlueOcean refund protocol (protocol.ts, as documented)', () => {
  it('queries 10 s after an accepted refund, then backs off, follows past 72 h, and names its source', () => {
    const p = blueoceanRefundProtocol;
    assert.equal(p.queryDelaysMs[0], 10_000);
    assert.ok(p.queryDelaysMs.every((d, i) => i === 0 || d >= (p.queryDelaysMs[i - 1] as number)));
    assert.ok(p.overdueAfterMs >= 72 * 3600 * 1000);
    assert.match(p.source, /feizhan66\/hk-api-documents/);
    assert.match(p.source, /blueoceanpay\/api-documents/);
    // WeChat's reverse window, which BlueOcean's reverse document carries: 7 days.
    assert.equal(p.reverseUntil?.(1_000), 1_000 + 7 * 24 * 3600 * 1000);
  });

  it("classifies every code of BlueOcean's code tables a refund can meet", () => {
    // wechat/response-code-list.md and zh_CN.md 1.6, less 200 and the pay-only codes (40101 paid, 40106 number
    // reused, 40111 code used) and the exchange-rate API's (492006, 492007), which default to retry.
    const documented =
      '0 201 404 4001 4002 4003 4004 4005 4006 4007 40100 40102 40103 40104 40105 40107 40108 40109 40110 40400 40500 40600 490001 491001 491002 491003 499999 492001 492002 492003 492004 492005 493001';
    assert.deepEqual(Object.keys(refundCodeClass).sort(), documented.split(' ').sort());
  });
});

describe('BlueOcean client refunds (the documented requests)', () => {
  const command: RefundCommand = {
    out_trade_no: expected.out_trade_no,
    total_fee: 1000,
    out_refund_no: expected.out_refund_no,
    refund_fee: 300,
    refund_desc: 'returned',
  };
  const sent: { target: string; body: Record<string, unknown> }[] = [];
  const http = {
    call: async (target: string, body: string): Promise<CallOutcome> => {
      sent.push({ target, body: JSON.parse(body) as Record<string, unknown> });
      return { kind: 'none', said: 'TIMEOUT' };
    },
  } as unknown as ChannelHttp;
  const channel = blueocean.create({ url: 'https://api.hk.blueoceanpay.com', http });
  const ctx = (api?: string): ChannelContext => ({
    account: { appid: '1000258', currency: 'HKD', ...(api ? { api } : {}) },
    credentials: { api_key: key },
  });
  const last = () => {
    const call = sent.at(-1);
    assert.ok(call);
    const { sign, nonce_str, ...fields } = call.body;
    assert.equal(sign, phpSign(call.body as Fields, key));
    assert.equal(typeof nonce_str, 'string');
    return { target: call.target, fields };
  };

  it('sends the seed generation its refund (total_fee included) and refund query by order', async () => {
    assert.equal(channel.refunds?.protocol, blueoceanRefundProtocol);
    const result = await channel.refunds?.refund(ctx(), command, 1_000);
    assert.deepEqual(result, { kind: 'unknown', said: 'TIMEOUT' });
    assert.deepEqual(last(), {
      target: 'https://api.hk.blueoceanpay.com/wechat/payment/refund',
      fields: {
        appid: '1000258',
        out_trade_no: command.out_trade_no,
        out_refund_no: command.out_refund_no,
        total_fee: 1000,
        refund_fee: 300,
        refund_desc: 'returned',
      },
    });
    await channel.refunds?.query(ctx('wechat'), command, 1_000);
    assert.deepEqual(last(), {
      target: 'https://api.hk.blueoceanpay.com/wechat/payment/refundquery',
      fields: { appid: '1000258', out_trade_no: command.out_trade_no },
    });
  });

  it('sends the unified generation /payment/refund and /order/refundquery by customer_refund_no', async () => {
    await channel.refunds?.refund(ctx('unified'), command, 1_000);
    assert.deepEqual(last(), {
      target: 'https://api.hk.blueoceanpay.com/payment/refund',
      fields: {
        appid: '1000258',
        out_trade_no: command.out_trade_no,
        out_refund_no: command.out_refund_no,
        refund_fee: 300,
        refund_desc: 'returned',
      },
    });
    await channel.refunds?.query(ctx('unified'), command, 1_000);
    assert.deepEqual(last(), {
      target: 'https://api.hk.blueoceanpay.com/order/refundquery',
      fields: { appid: '1000258', customer_refund_no: command.out_refund_no },
    });
  });
});
