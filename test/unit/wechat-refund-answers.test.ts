import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { RefundResult } from '#core/channels/channel.ts';
import type { CallOutcome } from '#core/channels/kit/http.ts';
import {
  refundErrorClass,
  refundQueryErrorClass,
  wechatRefundProtocol,
} from '#core/channels/wechat/protocol.ts';
import {
  readRefundAnswer,
  readRefundQueryAnswer,
  type WechatRefundExpectation,
} from '#core/channels/wechat/refunds.ts';
import { toXml } from '#core/channels/wechat/wire.ts';
import { type SignType, sign } from '#core/signing.ts';

const key = 'sandboxwechatkey0123456789abcdef';
const expected: WechatRefundExpectation = {
  key,
  signType: 'MD5',
  appid: 'wx2421b1c4370ec43b',
  mch_id: '1900000109',
  out_trade_no: '019b76daa80080d1fa57174f',
  total_fee: 101,
  out_refund_no: '019b76dbb1c2d3e4f5a6b7c8',
  refund_fee: 40,
};

type Fields = Record<string, string>;

/** An answer WeChat would send: envelope fields, then `fields`, signed unless told otherwise. */
function answer(
  fields: Fields,
  options: { signType?: SignType; signWith?: string; unsigned?: boolean } = {},
): Fields {
  const body: Fields = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: expected.appid,
    mch_id: expected.mch_id,
    nonce_str: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    ...fields,
  };
  if (!options.unsigned) body.sign = sign(body, options.signWith ?? key, options.signType ?? 'MD5');
  return body;
}

const text = (fields: Fields): CallOutcome => ({ kind: 'answer', text: toXml(fields) });
const kindAndSaid = (result: RefundResult) => [result.kind, result.said];

/** 申请退款's 返回结果 for our refund, as its example shows it. */
const accepted: Fields = {
  result_code: 'SUCCESS',
  transaction_id: '4200001234202601010123456789',
  out_trade_no: expected.out_trade_no,
  out_refund_no: expected.out_refund_no,
  refund_id: '50301234567890123456789012345',
  refund_fee: '40',
  total_fee: '101',
  cash_fee: '101',
};

describe('WeChat refund answers (申请退款): accepted is processing, every error as the document classes it', () => {
  const refund = (fields: Fields, options = {}) => readRefundAnswer(text(answer(fields, options)), expected);

  it('a signed SUCCESS about our order, number and amount is accepted: processing, with WeChat’s refund_id', () => {
    assert.deepEqual(refund(accepted), {
      kind: 'processing',
      ch_refund_id: accepted.refund_id,
      said: 'SUCCESS',
    });
    const hmac = readRefundAnswer(text(answer(accepted, { signType: 'HMAC-SHA256' })), {
      ...expected,
      signType: 'HMAC-SHA256',
    });
    assert.equal(hmac.kind, 'processing');
  });

  it('a SUCCESS about another refund number, amount or order, or stating none of them, decides nothing', () => {
    for (const [field, value] of [
      ['out_refund_no', '019b76dbb1c2d3e4f5a6b7c9'],
      ['refund_fee', '41'],
      ['out_trade_no', '019b76daa80080d1fa571700'],
      ['total_fee', '100'],
      ['mch_id', '1900000110'],
      ['refund_fee', ''],
      ['out_refund_no', ''],
      ['out_trade_no', ''],
    ] as const) {
      const result = refund({ ...accepted, [field]: value });
      assert.deepEqual(kindAndSaid(result), ['unknown', `MISMATCH:${field}`], `${field}=${value}`);
    }
  });

  it('an unsigned, foreign-signed or altered SUCCESS decides nothing', () => {
    assert.deepEqual(kindAndSaid(refund(accepted, { unsigned: true })), ['unknown', 'UNSIGNED']);
    assert.deepEqual(kindAndSaid(refund(accepted, { signWith: 'x'.repeat(32) })), [
      'unknown',
      'BAD_SIGNATURE',
    ]);
    const altered = { ...answer(accepted), refund_fee: '101' };
    assert.deepEqual(kindAndSaid(readRefundAnswer(text(altered), expected)), ['unknown', 'BAD_SIGNATURE']);
  });

  it('the document’s err_codes: retry with the same number, refused (nothing refunded), or nothing decided', () => {
    const retry = [
      'SYSTEMERROR',
      'BIZERR_NEED_RETRY',
      'INVALID_REQ_TOO_MUCH',
      'FREQUENCY_LIMITED',
      'ORDER_NOT_READY',
    ];
    const refused = ['NOTENOUGH', 'USER_ACCOUNT_ABNORMAL', 'TRADE_OVERDUE', 'ERROR', 'INVALID_REQUEST'];
    const ours = [
      'INVALID_TRANSACTIONID',
      'PARAM_ERROR',
      'APPID_NOT_EXIST',
      'MCHID_NOT_EXIST',
      'REQUIRE_POST_METHOD',
      'SIGNERROR',
      'XML_FORMAT_ERROR',
      'NOAUTH',
      'CERT_ERROR',
      'REFUND_FEE_MISMATCH',
      'ORDERNOTEXIST',
    ];
    for (const code of retry)
      assert.deepEqual(refund({ result_code: 'FAIL', err_code: code }), { kind: 'retry', said: code });
    for (const code of refused) {
      const result = refund({ result_code: 'FAIL', err_code: code, err_code_des: `${code} 的原因` });
      assert.ok(result.kind === 'failed', code);
      assert.deepEqual([result.errCode, result.errMsg, result.said], [code, `${code} 的原因`, code]);
      assert.equal((result.proof.answer as Fields).err_code, code);
    }
    // Requests wrong on our side: nothing moved, the refund is sent again under its number (and failed calls alarm).
    for (const code of ours) {
      assert.deepEqual(refund({ result_code: 'FAIL', err_code: code }), { kind: 'unknown', said: code });
    }
    // The table holds exactly the codes that decide something.
    assert.deepEqual(Object.keys(refundErrorClass).sort(), [...retry, ...refused].sort());
  });

  it('an err_code the document does not list decides nothing', () => {
    const result = refund({ result_code: 'FAIL', err_code: 'SOMETHING_NEW' });
    assert.deepEqual(result, { kind: 'unknown', said: 'SOMETHING_NEW' });
  });

  it('a refusal carries its code when WeChat gives no description', () => {
    const result = refund({ result_code: 'FAIL', err_code: 'NOTENOUGH' });
    assert.ok(result.kind === 'failed' && result.errMsg === 'NOTENOUGH');
  });

  it('a refusal must be signed, be for our merchant, and name no other refund, amount or order', () => {
    const notEnough = { result_code: 'FAIL', err_code: 'NOTENOUGH' };
    assert.deepEqual(kindAndSaid(refund(notEnough, { unsigned: true })), ['unknown', 'UNSIGNED']);
    for (const [field, value] of [
      ['mch_id', '1900000110'],
      ['appid', 'wx0000000000000000'],
      ['out_refund_no', 'another-refund-number'],
      ['refund_fee', '41'],
      ['out_trade_no', 'another-order'],
    ] as const) {
      assert.deepEqual(kindAndSaid(refund({ ...notEnough, [field]: value })), [
        'unknown',
        `MISMATCH:${field}`,
      ]);
    }
  });

  it('a return_code=FAIL is a request WeChat did not take: decides nothing, whatever else it carries', () => {
    const bare = readRefundAnswer(text({ return_code: 'FAIL', return_msg: '签名错误' }), expected);
    assert.deepEqual(bare, { kind: 'unknown', said: 'FAIL:签名错误' });
    const withExtras = readRefundAnswer(
      text({ return_code: 'FAIL', return_msg: 'x', result_code: 'SUCCESS', refund_id: '5030' }),
      expected,
    );
    assert.deepEqual(withExtras, { kind: 'unknown', said: 'FAIL:x' });
  });

  it('no answer, or one that is not WeChat’s XML, decides nothing', () => {
    for (const outcome of [
      { kind: 'none', said: 'TIMEOUT' },
      { kind: 'answer', text: '<html>502</html>' },
      text(answer({ result_code: 'FAIL' })),
      text(answer({ result_code: 'MAYBE' })),
      text({ ...answer(accepted), return_code: 'PERHAPS' }),
    ] as CallOutcome[]) {
      const result = readRefundAnswer(outcome, expected);
      assert.equal(result.kind, 'unknown', JSON.stringify(outcome));
    }
  });
});

/** One refund of a refundquery answer, as `*_$n` fields. */
function entry(n: number, fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [`${name}_${n}`, value]));
}

const ours = (status: string, extra: Fields = {}) => ({
  out_refund_no: expected.out_refund_no,
  refund_id: '50301234567890123456789012345',
  refund_channel: 'ORIGINAL',
  refund_fee: '40',
  settlement_refund_fee: '40',
  refund_status: status,
  refund_recv_accout: '支付用户零钱',
  ...extra,
});
const someoneElses = (n: number) =>
  entry(n, {
    out_refund_no: `019b76dbb1c2d3e4f5a6b7d${n}`,
    refund_id: `5030123456789012345678901234${n}`,
    refund_fee: '30',
    refund_status: 'SUCCESS',
    refund_success_time: '2026-01-01 12:00:00',
  });

/** 查询退款's 返回结果: our order, and its refunds at `n`. */
function found(refunds: Fields, count: number): Fields {
  return {
    result_code: 'SUCCESS',
    transaction_id: '4200001234202601010123456789',
    out_trade_no: expected.out_trade_no,
    total_fee: '101',
    cash_fee: '101',
    refund_count: String(count),
    ...refunds,
  };
}

describe('WeChat refund query answers (查询退款): our entry of the refund_*_$n list decides', () => {
  const query = (fields: Fields, options = {}) =>
    readRefundQueryAnswer(text(answer(fields, options)), expected);

  it('SUCCESS is refunded, with refund_id_$n and refund_success_time_$n (UTC+8)', () => {
    const result = query(found(entry(0, ours('SUCCESS', { refund_success_time: '2026-01-01 12:00:05' })), 1));
    assert.ok(result.kind === 'refunded');
    assert.deepEqual(
      [result.ch_refund_id, result.refund_time, result.said],
      ['50301234567890123456789012345', Date.UTC(2026, 0, 1, 4, 0, 5) / 1000, 'SUCCESS'],
    );
  });

  it('reads the entry whose out_refund_no_$n is ours, wherever it stands in the list', () => {
    const list = {
      ...someoneElses(0),
      ...someoneElses(1),
      ...entry(2, ours('PROCESSING')),
      ...someoneElses(3),
    };
    const result = query(found(list, 4));
    assert.deepEqual(result, {
      kind: 'processing',
      ch_refund_id: '50301234567890123456789012345',
      said: 'PROCESSING',
    });
  });

  for (const [status, kind] of [
    ['PROCESSING', 'processing'],
    ['REFUNDCLOSE', 'failed'],
    ['CHANGE', 'abnormal'],
  ] as const) {
    it(`${status} → ${kind}`, () => {
      const result = query(found(entry(0, ours(status)), 1));
      assert.deepEqual(kindAndSaid(result), [kind, status]);
      if (result.kind === 'failed')
        assert.deepEqual([result.errCode, result.said], ['REFUNDCLOSE', 'REFUNDCLOSE']);
      if (result.kind === 'abnormal') assert.equal(result.ch_refund_id, '50301234567890123456789012345');
    });
  }

  it('a status WeChat does not document decides nothing', () => {
    assert.deepEqual(query(found(entry(0, ours('SOMETHING')), 1)), { kind: 'unknown', said: 'SOMETHING' });
    const { refund_status: _omitted, ...noStatus } = ours('SUCCESS');
    assert.deepEqual(query(found(entry(0, noStatus), 1)), { kind: 'unknown', said: 'NO_REFUND_STATUS' });
  });

  it('a success time that is no time leaves refund_time to the gateway', () => {
    const result = query(found(entry(0, ours('SUCCESS', { refund_success_time: '20260101120005' })), 1));
    assert.ok(result.kind === 'refunded' && result.refund_time === undefined);
  });

  it('an answer without our refund, or with it twice, decides nothing', () => {
    assert.deepEqual(query(found({ ...someoneElses(0), ...someoneElses(1) }, 2)), {
      kind: 'unknown',
      said: 'MISMATCH:out_refund_no',
    });
    assert.deepEqual(query(found({ ...entry(0, ours('SUCCESS')), ...entry(1, ours('PROCESSING')) }, 2)), {
      kind: 'unknown',
      said: 'AMBIGUOUS:out_refund_no',
    });
  });

  it('our entry must state our amount: another, or none, decides nothing', () => {
    for (const refund_fee of ['41', '']) {
      const result = query(found(entry(0, ours('SUCCESS', { refund_fee })), 1));
      assert.deepEqual(result, { kind: 'unknown', said: 'MISMATCH:refund_fee' });
    }
  });

  it('the answer must be about our order, for our merchant, and signed', () => {
    const good = found(entry(0, ours('SUCCESS')), 1);
    assert.deepEqual(kindAndSaid(query({ ...good, out_trade_no: 'another-order' })), [
      'unknown',
      'MISMATCH:out_trade_no',
    ]);
    const { out_trade_no: _omitted, ...noOrder } = good;
    assert.deepEqual(kindAndSaid(query(noOrder)), ['unknown', 'MISMATCH:out_trade_no']);
    assert.deepEqual(kindAndSaid(query({ ...good, total_fee: '100' })), ['unknown', 'MISMATCH:total_fee']);
    assert.deepEqual(kindAndSaid(query({ ...good, mch_id: '1900000110' })), ['unknown', 'MISMATCH:mch_id']);
    assert.deepEqual(kindAndSaid(query(good, { unsigned: true })), ['unknown', 'UNSIGNED']);
    assert.deepEqual(kindAndSaid(query(good, { signWith: 'y'.repeat(32) })), ['unknown', 'BAD_SIGNATURE']);
  });

  it('an order-wide refund_fee beside the list is not read as ours', () => {
    const result = query({ ...found(entry(0, ours('SUCCESS')), 1), refund_fee: '70' });
    assert.equal(result.kind, 'refunded');
  });

  it('checks HMAC-SHA256 answers as the request was signed', () => {
    const hmac = { ...expected, signType: 'HMAC-SHA256' as const };
    const good = found(entry(0, ours('SUCCESS')), 1);
    assert.equal(
      readRefundQueryAnswer(text(answer(good, { signType: 'HMAC-SHA256' })), hmac).kind,
      'refunded',
    );
    assert.deepEqual(kindAndSaid(readRefundQueryAnswer(text(answer(good)), hmac)), [
      'unknown',
      'BAD_SIGNATURE',
    ]);
  });

  it('REFUNDNOTEXIST, signed and ours, is absent (send it again under the same number); unsigned, nothing', () => {
    const result = query({ result_code: 'FAIL', err_code: 'REFUNDNOTEXIST', err_code_des: 'not exist' });
    assert.ok(result.kind === 'absent');
    assert.equal((result.proof.answer as Fields).err_code, 'REFUNDNOTEXIST');
    const unsigned = query({ result_code: 'FAIL', err_code: 'REFUNDNOTEXIST' }, { unsigned: true });
    assert.deepEqual(unsigned, { kind: 'unknown', said: 'UNSIGNED' });
    const foreign = query({ result_code: 'FAIL', err_code: 'REFUNDNOTEXIST', mch_id: '1900000110' });
    assert.deepEqual(foreign, { kind: 'unknown', said: 'MISMATCH:mch_id' });
  });

  it('SYSTEMERROR and FREQUENCY_LIMITED ask again; the other documented errors decide nothing', () => {
    assert.deepEqual(
      Object.keys(refundQueryErrorClass).filter((c) => refundQueryErrorClass[c] === 'retry'),
      ['SYSTEMERROR', 'FREQUENCY_LIMITED'],
    );
    for (const code of ['SYSTEMERROR', 'FREQUENCY_LIMITED']) {
      assert.deepEqual(query({ result_code: 'FAIL', err_code: code }), { kind: 'retry', said: code });
    }
    for (const code of ['INVALID_TRANSACTIONID', 'PARAM_ERROR', 'SIGNERROR', 'NEW_CODE']) {
      assert.deepEqual(query({ result_code: 'FAIL', err_code: code }), { kind: 'unknown', said: code });
    }
  });

  it('a return_code=FAIL, no answer or a malformed one decides nothing', () => {
    assert.deepEqual(readRefundQueryAnswer(text({ return_code: 'FAIL', return_msg: '签名错误' }), expected), {
      kind: 'unknown',
      said: 'FAIL:签名错误',
    });
    for (const outcome of [
      { kind: 'none', said: 'TIMEOUT' },
      text(answer({ result_code: 'FAIL' })),
      text(answer({ result_code: 'OTHER' })),
      text({ ...answer({}), return_code: 'PERHAPS' }),
    ] as CallOutcome[]) {
      const result = readRefundQueryAnswer(outcome, expected);
      assert.equal(result.kind, 'unknown');
    }
  });
});

describe('WeChat refund protocol', () => {
  it('takes a reverse for 7 days after payment, then only a refund', () => {
    const paidAt = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(wechatRefundProtocol.reverseUntil?.(paidAt), Date.parse('2026-01-08T00:00:00Z'));
  });

  it('names WeChat’s refund and refund query documents and the tenpay methods it follows', () => {
    for (const name of ['chapter=9_4', 'chapter=9_5', 'Payment#refund', 'Payment#refundQuery']) {
      assert.ok(wechatRefundProtocol.source.includes(name), name);
    }
  });

  it('keeps the waits an execution holds within its 300 s, and follows a refund for at least 72 hours', () => {
    const inExecution = (delays: readonly number[]) => delays.filter((ms) => ms <= 60_000);
    const held = (delays: readonly number[]) =>
      inExecution(delays).reduce((sum, ms) => sum + ms + wechatRefundProtocol.callDeadlineMs, 0);
    assert.ok(held(wechatRefundProtocol.queryDelaysMs) < 300_000);
    assert.ok(held(wechatRefundProtocol.resendDelaysMs) < 300_000);
    assert.ok(wechatRefundProtocol.overdueAfterMs >= 72 * 3600 * 1000);
  });
});
