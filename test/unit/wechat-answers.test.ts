import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  type CallOutcome,
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
  type WechatExpectation,
} from '#core/channels/wechat/answers.ts';
import { payErrorClass } from '#core/channels/wechat/protocol.ts';
import { toXml } from '#core/channels/wechat/wire.ts';
import { type SignType, sign } from '#core/signing.ts';

const key = 'sandboxwechatkey0123456789abcdef';
const expected: WechatExpectation = {
  key,
  signType: 'MD5',
  appid: 'wx2421b1c4370ec43b',
  mch_id: '1900000109',
  out_trade_no: '019b76daa80080d1fa57174f',
  total_fee: 101,
};

type Fields = Record<string, string>;

/** An answer WeChat would send: envelope fields, then `fields`, signed unless told otherwise. */
function answer(
  fields: Fields,
  options: { signType?: SignType; signWith?: string; unsigned?: boolean } = {},
) {
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

const paidFields = {
  result_code: 'SUCCESS',
  out_trade_no: expected.out_trade_no,
  total_fee: '101',
  cash_fee: '101',
  transaction_id: '4200001234202601010123456789',
  time_end: '20260101120000',
};

describe('WeChat pay answers: only verified answers about this order decide', () => {
  const cases: { name: string; outcome: CallOutcome; kind: string; said?: RegExp }[] = [
    { name: 'a signed SUCCESS about this order', outcome: text(answer(paidFields)), kind: 'paid' },
    {
      name: 'a SUCCESS signed with HMAC-SHA256 per its sign_type',
      outcome: text(answer({ ...paidFields, sign_type: 'HMAC-SHA256' }, { signType: 'HMAC-SHA256' })),
      kind: 'paid',
    },
    {
      name: 'an unsigned SUCCESS',
      outcome: text(answer(paidFields, { unsigned: true })),
      kind: 'unknown',
      said: /UNSIGNED/,
    },
    {
      name: 'a SUCCESS signed with another key',
      outcome: text(answer(paidFields, { signWith: 'x'.repeat(32) })),
      kind: 'unknown',
      said: /BAD_SIGNATURE/,
    },
    {
      name: 'a SUCCESS with a field changed after signing',
      outcome: text({ ...answer(paidFields), total_fee: '1' }),
      kind: 'unknown',
      said: /BAD_SIGNATURE/,
    },
    {
      name: 'a signed SUCCESS about another order',
      outcome: text(answer({ ...paidFields, out_trade_no: '019b76daa80080d1fa571700' })),
      kind: 'unknown',
      said: /MISMATCH:out_trade_no/,
    },
    {
      name: 'a signed SUCCESS for another amount',
      outcome: text(answer({ ...paidFields, total_fee: '1' })),
      kind: 'unknown',
      said: /MISMATCH:total_fee/,
    },
    {
      name: 'a signed SUCCESS for another merchant',
      outcome: text(answer({ ...paidFields, mch_id: '1900000110' })),
      kind: 'unknown',
      said: /MISMATCH:mch_id/,
    },
    {
      name: 'a signed SUCCESS for another appid',
      outcome: text(answer({ ...paidFields, appid: 'wx0000000000000000' })),
      kind: 'unknown',
      said: /MISMATCH:appid/,
    },
    {
      name: 'a signed SUCCESS without out_trade_no',
      outcome: text(answer({ result_code: 'SUCCESS', total_fee: '101' })),
      kind: 'unknown',
      said: /MISMATCH:out_trade_no/,
    },
    {
      name: 'an unsigned NOTENOUGH',
      outcome: text(answer({ result_code: 'FAIL', err_code: 'NOTENOUGH' }, { unsigned: true })),
      kind: 'unknown',
    },
    {
      name: 'a return_code=FAIL (communication refusal, unsigned by design)',
      outcome: text({ return_code: 'FAIL', return_msg: '签名错误' }),
      kind: 'refused',
    },
    {
      name: 'an unsigned FAIL that carries business fields',
      outcome: text({ return_code: 'FAIL', return_msg: 'x', result_code: 'SUCCESS', transaction_id: '1' }),
      kind: 'unknown',
    },
    {
      name: 'XML without return_code',
      outcome: text({ result_code: 'SUCCESS' }),
      kind: 'unknown',
      said: /MALFORMED/,
    },
    {
      name: 'a truncated body',
      outcome: { kind: 'answer', text: toXml(answer(paidFields)).slice(0, 80) },
      kind: 'unknown',
      said: /MALFORMED/,
    },
    {
      name: 'a document with a DOCTYPE',
      outcome: {
        kind: 'answer',
        text: `<!DOCTYPE xml [<!ENTITY a "SUCCESS">]>${toXml(answer(paidFields)).replace('<return_code><![CDATA[SUCCESS]]>', '<return_code>&a;')}`,
      },
      kind: 'unknown',
      said: /MALFORMED/,
    },
    {
      name: 'not XML at all',
      outcome: { kind: 'answer', text: '<html>502 Bad Gateway</html>' },
      kind: 'unknown',
    },
    { name: 'an HTTP error', outcome: { kind: 'none', said: 'HTTP_502' }, kind: 'unknown', said: /HTTP_502/ },
    { name: 'a timeout', outcome: { kind: 'none', said: 'TIMEOUT' }, kind: 'unknown', said: /TIMEOUT/ },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.kind}`, () => {
      const result = readPayAnswer(c.outcome, expected);
      assert.equal(result.kind, c.kind);
      if (c.said) assert.match(result.said, c.said);
    });
  }

  it('decodes entity-escaped text, so a genuine signature over it verifies', () => {
    const fields = answer({ ...paidFields, attach: 'a&b<c>' });
    const xml = `<xml>${Object.entries(fields)
      .map(
        ([k, v]) =>
          `<${k}>${v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')}</${k}>`,
      )
      .join('')}</xml>`;
    const result = readPayAnswer({ kind: 'answer', text: xml }, expected);
    assert.equal(result.kind, 'paid');
  });

  for (const [errCode, reading] of Object.entries(payErrorClass)) {
    it(`err_code ${errCode} (signed) → ${reading}`, () => {
      const result = readPayAnswer(text(answer({ result_code: 'FAIL', err_code: errCode })), expected);
      assert.equal(result.kind, reading);
      assert.equal(result.said, errCode);
    });
  }

  it('an err_code WeChat never documented leaves the outcome open', () => {
    const result = readPayAnswer(text(answer({ result_code: 'FAIL', err_code: 'SOMETHING_NEW' })), expected);
    assert.equal(result.kind, 'pending');
  });

  it('reads OUT_TRADE_NO_USED as WeChat already holding this order: ask, never refuse', () => {
    const result = readPayAnswer(
      text(answer({ result_code: 'FAIL', err_code: 'OUT_TRADE_NO_USED' })),
      expected,
    );
    assert.equal(result.kind, 'pending');
  });
});

describe('WeChat query answers', () => {
  const query = (fields: Fields) =>
    readQueryAnswer(text(answer({ result_code: 'SUCCESS', ...fields })), expected);

  it('a verified SUCCESS about this order and amount is paid, with the payment details', () => {
    const result = query({ ...paidFields, trade_state: 'SUCCESS' });
    assert.equal(result.kind, 'paid');
    assert.ok(result.kind === 'paid' && !result.refunded);
    assert.equal(result.kind === 'paid' && result.details.out_trade_id, paidFields.transaction_id);
  });

  it('REFUND is paid, then refunded: the payment stands and the refund is noted', () => {
    const result = query({ ...paidFields, trade_state: 'REFUND' });
    assert.ok(result.kind === 'paid' && result.refunded);
  });

  for (const [state, kind] of [
    ['CLOSED', 'closed'],
    ['REVOKED', 'reversed'],
    ['PAYERROR', 'failed'],
    ['USERPAYING', 'pending'],
    ['NOTPAY', 'pending'],
  ] as const) {
    it(`${state} about this order → ${kind}`, () => {
      assert.equal(query({ out_trade_no: expected.out_trade_no, trade_state: state }).kind, kind);
    });
  }

  // orderquery's 返回结果: for a trade_state other than SUCCESS only out_trade_no, attach and the state fields
  // are returned, beside the envelope (appid, mch_id, nonce_str, sign, result_code).
  for (const [state, kind] of [
    ['REFUND', 'paid'],
    ['NOTPAY', 'pending'],
    ['CLOSED', 'closed'],
    ['REVOKED', 'reversed'],
    ['USERPAYING', 'pending'],
    ['PAYERROR', 'failed'],
  ] as const) {
    it(`${state} as WeChat documents it (out_trade_no, attach and the state, no amount) → ${kind}`, () => {
      const result = query({
        out_trade_no: expected.out_trade_no,
        attach: 'till 4',
        trade_state: state,
        trade_state_desc: `${state} desc`,
      });
      assert.equal(result.kind, kind, result.said);
      if (state === 'REFUND') assert.ok(result.kind === 'paid' && result.refunded);
    });
  }

  it('a SUCCESS that states another amount, or none, decides nothing', () => {
    const other = query({ ...paidFields, trade_state: 'SUCCESS', total_fee: '100' });
    assert.equal(other.kind, 'unknown');
    assert.match(other.said, /MISMATCH:total_fee/);
    const { total_fee: _omitted, ...noAmount } = paidFields;
    const none = query({ ...noAmount, trade_state: 'SUCCESS' });
    assert.equal(none.kind, 'unknown');
    assert.match(none.said, /MISMATCH:total_fee/);
  });

  it('a final state that states another amount decides nothing, whatever the state', () => {
    for (const state of ['REFUND', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      const result = query({ out_trade_no: expected.out_trade_no, total_fee: '100', trade_state: state });
      assert.equal(result.kind, 'unknown', state);
      assert.match(result.said, /MISMATCH:total_fee/);
    }
  });

  it('a final state that names no order decides nothing', () => {
    for (const state of ['SUCCESS', 'REFUND', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      const { out_trade_no: _omitted, ...fields } = paidFields;
      const result = query({ ...fields, trade_state: state });
      assert.equal(result.kind, 'unknown', state);
      assert.match(result.said, /MISMATCH:out_trade_no/);
    }
  });

  it('a final state for another merchant decides nothing', () => {
    for (const field of ['appid', 'mch_id']) {
      const result = query({ ...paidFields, trade_state: 'SUCCESS', [field]: 'someone-else' });
      assert.equal(result.kind, 'unknown', field);
      assert.match(result.said, new RegExp(`MISMATCH:${field}`));
    }
  });

  it('a final state about another order decides nothing', () => {
    for (const state of ['SUCCESS', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      const result = query({ ...paidFields, out_trade_no: 'another-order-000000000', trade_state: state });
      assert.equal(result.kind, 'unknown', state);
    }
  });

  it('an unsigned SUCCESS or CLOSED decides nothing', () => {
    for (const state of ['SUCCESS', 'CLOSED']) {
      const fields = answer(
        { ...paidFields, result_code: 'SUCCESS', trade_state: state },
        { unsigned: true },
      );
      assert.equal(readQueryAnswer(text(fields), expected).kind, 'unknown', state);
    }
  });

  it('ORDERNOTEXIST is pending: the pay may not have landed yet', () => {
    const result = readQueryAnswer(
      text(answer({ result_code: 'FAIL', err_code: 'ORDERNOTEXIST' })),
      expected,
    );
    assert.equal(result.kind, 'pending');
  });
});

describe('WeChat reverse answers', () => {
  const reverse = (fields: Fields, options = {}) =>
    readReverseAnswer(text(answer(fields, options)), expected);

  it('a verified SUCCESS with recall=N is a reverse that happened', () => {
    assert.equal(reverse({ result_code: 'SUCCESS', recall: 'N' }).kind, 'reversed');
  });

  it('recall=Y means reverse again, whatever result_code says', () => {
    assert.equal(reverse({ result_code: 'SUCCESS', recall: 'Y' }).kind, 'retry');
    assert.equal(reverse({ result_code: 'FAIL', err_code: 'SYSTEMERROR', recall: 'Y' }).kind, 'retry');
  });

  it('a FAIL with recall=N did not reverse anything: keep trying, then alarm', () => {
    assert.equal(reverse({ result_code: 'FAIL', err_code: 'REVERSE_EXPIRE', recall: 'N' }).kind, 'unknown');
  });

  it('an unsigned or foreign SUCCESS is no reverse', () => {
    assert.equal(reverse({ result_code: 'SUCCESS', recall: 'N' }, { unsigned: true }).kind, 'unknown');
    assert.equal(reverse({ result_code: 'SUCCESS', recall: 'N', mch_id: '1900000110' }).kind, 'unknown');
    assert.equal(
      reverse({ result_code: 'SUCCESS', recall: 'N' }, { signWith: 'y'.repeat(32) }).kind,
      'unknown',
    );
  });

  it('no answer is no reverse', () => {
    assert.equal(readReverseAnswer({ kind: 'none', said: 'TIMEOUT' }, expected).kind, 'unknown');
  });
});

describe('WeChat answers: every check the verifier makes, and the words kept in the history', () => {
  const hmac: WechatExpectation = { ...expected, signType: 'HMAC-SHA256' };
  const serviceProvider: WechatExpectation = { ...expected, sub_mch_id: '1900000999' };

  it('names why an answer is not proven: unsigned, bad sign_type, another key, unsigned FAIL with extras', () => {
    const words = [
      readPayAnswer(text(answer(paidFields, { unsigned: true })), expected).said,
      readPayAnswer(text(answer({ ...paidFields, sign_type: 'SHA1' })), expected).said,
      readPayAnswer(text(answer(paidFields, { signWith: 'x'.repeat(32) })), expected).said,
      readPayAnswer(
        text({ return_code: 'FAIL', return_msg: 'x', result_code: 'SUCCESS', sub_mch_id: '1' }),
        expected,
      ).said,
    ];
    assert.deepEqual(words, [
      'UNSIGNED',
      'BAD_SIGN_TYPE',
      'BAD_SIGNATURE',
      'UNSIGNED_FAIL_WITH:result_code,sub_mch_id',
    ]);
  });

  it('an answer without sign_type is checked as the request was signed (HMAC-SHA256 here)', () => {
    const signedHmac = text(answer(paidFields, { signType: 'HMAC-SHA256' }));
    assert.equal(readPayAnswer(signedHmac, hmac).kind, 'paid');
    const signedMd5 = readPayAnswer(text(answer(paidFields)), hmac);
    assert.deepEqual([signedMd5.kind, signedMd5.said], ['unknown', 'BAD_SIGNATURE']);
  });

  it('appid and mch_id must be stated, and be ours, in every signed answer', () => {
    for (const field of ['appid', 'mch_id'] as const) {
      const fields = answer(paidFields);
      delete fields[field];
      fields.sign = sign(fields, key, 'MD5');
      assert.equal(readPayAnswer(text(fields), expected).said, `MISMATCH:${field}`);
      const reverse = answer({ result_code: 'SUCCESS', recall: 'N', [field]: 'someone-else' });
      assert.equal(readReverseAnswer(text(reverse), expected).said, `MISMATCH:${field}`);
    }
  });

  it("a service provider's sub_mch_id must be stated and ours; a direct merchant's answers may carry any", () => {
    const sub = (value?: string) => text(answer({ ...paidFields, ...(value ? { sub_mch_id: value } : {}) }));
    assert.equal(readPayAnswer(sub('1900000999'), serviceProvider).kind, 'paid');
    assert.equal(readPayAnswer(sub(), serviceProvider).said, 'MISMATCH:sub_mch_id');
    assert.equal(readPayAnswer(sub('1900000998'), serviceProvider).said, 'MISMATCH:sub_mch_id');
    assert.equal(readPayAnswer(sub('1900000998'), expected).kind, 'paid');
  });

  it('a signed refusal is checked against the merchant too: another mch_id refuses nothing', () => {
    const ours = readPayAnswer(text(answer({ result_code: 'FAIL', err_code: 'NOTENOUGH' })), expected);
    assert.equal(ours.kind, 'refused');
    const theirs = answer({ result_code: 'FAIL', err_code: 'NOTENOUGH', mch_id: '1900000110' });
    assert.equal(readPayAnswer(text(theirs), expected).said, 'MISMATCH:mch_id');
    // A return_code=FAIL that is signed is held to the same checks as any signed answer.
    const signedFail = answer({ return_code: 'FAIL', return_msg: 'x', mch_id: '1900000110' });
    assert.equal(readPayAnswer(text(signedFail), expected).said, 'MISMATCH:mch_id');
  });

  it('a refusal carries its code and text; without a text, the code; a bare FAIL says what WeChat said', () => {
    const withText = readPayAnswer(
      text(answer({ result_code: 'FAIL', err_code: 'NOTENOUGH', err_code_des: '余额不足' })),
      expected,
    );
    assert.deepEqual(withText, { ...withText, errCode: 'NOTENOUGH', errMsg: '余额不足', said: 'NOTENOUGH' });
    const withoutText = readPayAnswer(
      text(answer({ result_code: 'FAIL', err_code: 'SYSTEMERROR' })),
      expected,
    );
    assert.deepEqual(withoutText, {
      kind: 'pending',
      errCode: 'SYSTEMERROR',
      errMsg: 'SYSTEMERROR',
      said: 'SYSTEMERROR',
    });
    const bare = readPayAnswer(text({ return_code: 'FAIL', return_msg: '签名错误' }), expected);
    assert.deepEqual([bare.kind, bare.said], ['refused', 'FAIL']);
    assert.ok(bare.kind === 'refused' && bare.errCode === 'CHANNEL_REJECTED' && bare.errMsg === '签名错误');
    const silent = readPayAnswer(text({ return_code: 'FAIL' }), expected);
    assert.ok(silent.kind === 'refused' && silent.errMsg === 'rejected');
  });

  it('a signed SUCCESS envelope whose result is neither SUCCESS nor a FAIL with a code is malformed', () => {
    const envelopes: Fields[] = [{ result_code: 'FAIL' }, { result_code: 'MAYBE', err_code: 'X' }, {}];
    for (const fields of envelopes) {
      const result = readPayAnswer(text(answer(fields)), expected);
      assert.deepEqual([result.kind, result.said], ['unknown', 'MALFORMED'], JSON.stringify(fields));
    }
  });

  it('reads the payment: ids, amounts as whole fen only, the time; the said is SUCCESS', () => {
    const result = readPayAnswer(
      text(answer({ ...paidFields, cash_fee: '89', coupon_fee: '12', bank_type: 'CFT', openid: 'o1' })),
      expected,
    );
    assert.ok(result.kind === 'paid');
    assert.equal(result.said, 'SUCCESS');
    assert.deepEqual(
      [
        result.details.out_trade_id,
        result.details.ch_trade_id,
        result.details.cash_fee,
        result.details.coupon_fee,
      ],
      [paidFields.transaction_id, paidFields.transaction_id, 89, 12],
    );
    assert.equal(result.details.time_end, Date.UTC(2026, 0, 1, 4, 0, 0) / 1000);
    for (const amount of ['1.5', 'x12', '12x', '', '-3']) {
      const odd = readPayAnswer(text(answer({ ...paidFields, cash_fee: amount })), expected);
      assert.ok(odd.kind === 'paid' && odd.details.cash_fee === undefined, amount);
    }
  });

  it('query: no answer, FAIL, a refused query, no state: each leaves the order open, saying which', () => {
    assert.deepEqual(readQueryAnswer({ kind: 'none', said: 'TIMEOUT' }, expected), {
      kind: 'unknown',
      said: 'TIMEOUT',
    });
    assert.deepEqual(readQueryAnswer(text({ return_code: 'FAIL', return_msg: '系统错误' }), expected), {
      kind: 'unknown',
      said: 'FAIL:系统错误',
    });
    assert.deepEqual(readQueryAnswer(text({ return_code: 'FAIL' }), expected), {
      kind: 'unknown',
      said: 'FAIL:',
    });
    assert.deepEqual(readQueryAnswer(text(answer({ result_code: 'FAIL' })), expected), {
      kind: 'pending',
      said: 'FAIL',
    });
    assert.deepEqual(readQueryAnswer(text(answer({ result_code: 'SUCCESS' })), expected), {
      kind: 'pending',
      said: 'UNKNOWN',
    });
  });

  it('query: a failed payment carries its description, or its state when WeChat gives none', () => {
    const described = readQueryAnswer(
      text(
        answer({
          result_code: 'SUCCESS',
          out_trade_no: expected.out_trade_no,
          trade_state: 'PAYERROR',
          trade_state_desc: '支付失败',
        }),
      ),
      expected,
    );
    assert.ok(
      described.kind === 'failed' && described.errMsg === '支付失败' && described.errCode === 'PAYERROR',
    );
    const bare = readQueryAnswer(
      text(answer({ result_code: 'SUCCESS', out_trade_no: expected.out_trade_no, trade_state: 'PAYERROR' })),
      expected,
    );
    assert.ok(bare.kind === 'failed' && bare.errMsg === 'PAYERROR');
  });

  it('reverse: the history says what WeChat answered, and recall', () => {
    const reverse = (fields: Fields) => readReverseAnswer(text(answer(fields)), expected);
    assert.deepEqual(reverse({ result_code: 'FAIL', err_code: 'SYSTEMERROR', recall: 'Y' }), {
      kind: 'retry',
      said: 'SYSTEMERROR recall=Y',
    });
    assert.deepEqual(reverse({ result_code: 'FAIL', recall: 'N' }), { kind: 'unknown', said: 'OK recall=N' });
    const silent = answer({ result_code: 'FAIL', recall: 'N' });
    delete silent.return_msg;
    silent.sign = sign(silent, key, 'MD5');
    assert.deepEqual(readReverseAnswer(text(silent), expected), { kind: 'unknown', said: 'FAIL recall=N' });
    assert.deepEqual(reverse({ result_code: 'SUCCESS', recall: 'Y' }), {
      kind: 'retry',
      said: 'SUCCESS recall=Y',
    });
    const done = reverse({ result_code: 'SUCCESS', recall: 'N' });
    assert.deepEqual([done.kind, done.said], ['reversed', 'SUCCESS']);
    // A reverse answer that names no recall did not ask for another.
    assert.equal(reverse({ result_code: 'SUCCESS' }).kind, 'reversed');
    assert.deepEqual(readReverseAnswer(text({ return_code: 'FAIL', return_msg: 'x' }), expected), {
      kind: 'unknown',
      said: 'FAIL:x',
    });
    assert.deepEqual(readReverseAnswer(text({ return_code: 'FAIL' }), expected), {
      kind: 'unknown',
      said: 'FAIL:',
    });
  });
});
