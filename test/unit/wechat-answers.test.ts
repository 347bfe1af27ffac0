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
  const cases: { name: string; outcome: CallOutcome; kind: string; word?: RegExp }[] = [
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
      word: /UNSIGNED/,
    },
    {
      name: 'a SUCCESS signed with another key',
      outcome: text(answer(paidFields, { signWith: 'x'.repeat(32) })),
      kind: 'unknown',
      word: /BAD_SIGNATURE/,
    },
    {
      name: 'a SUCCESS with a field changed after signing',
      outcome: text({ ...answer(paidFields), total_fee: '1' }),
      kind: 'unknown',
      word: /BAD_SIGNATURE/,
    },
    {
      name: 'a signed SUCCESS about another order',
      outcome: text(answer({ ...paidFields, out_trade_no: '019b76daa80080d1fa571700' })),
      kind: 'unknown',
      word: /MISMATCH:out_trade_no/,
    },
    {
      name: 'a signed SUCCESS for another amount',
      outcome: text(answer({ ...paidFields, total_fee: '1' })),
      kind: 'unknown',
      word: /MISMATCH:total_fee/,
    },
    {
      name: 'a signed SUCCESS for another merchant',
      outcome: text(answer({ ...paidFields, mch_id: '1900000110' })),
      kind: 'unknown',
      word: /MISMATCH:mch_id/,
    },
    {
      name: 'a signed SUCCESS for another appid',
      outcome: text(answer({ ...paidFields, appid: 'wx0000000000000000' })),
      kind: 'unknown',
      word: /MISMATCH:appid/,
    },
    {
      name: 'a signed SUCCESS without out_trade_no',
      outcome: text(answer({ result_code: 'SUCCESS', total_fee: '101' })),
      kind: 'unknown',
      word: /MISMATCH:out_trade_no/,
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
      word: /MALFORMED/,
    },
    {
      name: 'a truncated body',
      outcome: { kind: 'answer', text: toXml(answer(paidFields)).slice(0, 80) },
      kind: 'unknown',
      word: /MALFORMED/,
    },
    {
      name: 'a document with a DOCTYPE',
      outcome: {
        kind: 'answer',
        text: `<!DOCTYPE xml [<!ENTITY a "SUCCESS">]>${toXml(answer(paidFields)).replace('<return_code><![CDATA[SUCCESS]]>', '<return_code>&a;')}`,
      },
      kind: 'unknown',
      word: /MALFORMED/,
    },
    {
      name: 'not XML at all',
      outcome: { kind: 'answer', text: '<html>502 Bad Gateway</html>' },
      kind: 'unknown',
    },
    { name: 'an HTTP error', outcome: { kind: 'none', word: 'HTTP_502' }, kind: 'unknown', word: /HTTP_502/ },
    { name: 'a timeout', outcome: { kind: 'none', word: 'TIMEOUT' }, kind: 'unknown', word: /TIMEOUT/ },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.kind}`, () => {
      const result = readPayAnswer(c.outcome, expected);
      assert.equal(result.kind, c.kind);
      if (c.word) assert.match(result.word, c.word);
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
      assert.equal(result.word, errCode);
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
      assert.equal(result.kind, kind, result.word);
      if (state === 'REFUND') assert.ok(result.kind === 'paid' && result.refunded);
    });
  }

  it('a SUCCESS that states another amount, or none, decides nothing', () => {
    const other = query({ ...paidFields, trade_state: 'SUCCESS', total_fee: '100' });
    assert.equal(other.kind, 'unknown');
    assert.match(other.word, /MISMATCH:total_fee/);
    const { total_fee: _omitted, ...noAmount } = paidFields;
    const none = query({ ...noAmount, trade_state: 'SUCCESS' });
    assert.equal(none.kind, 'unknown');
    assert.match(none.word, /MISMATCH:total_fee/);
  });

  it('a final state that states another amount decides nothing, whatever the state', () => {
    for (const state of ['REFUND', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      const result = query({ out_trade_no: expected.out_trade_no, total_fee: '100', trade_state: state });
      assert.equal(result.kind, 'unknown', state);
      assert.match(result.word, /MISMATCH:total_fee/);
    }
  });

  it('a final state that names no order decides nothing', () => {
    for (const state of ['SUCCESS', 'REFUND', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      const { out_trade_no: _omitted, ...fields } = paidFields;
      const result = query({ ...fields, trade_state: state });
      assert.equal(result.kind, 'unknown', state);
      assert.match(result.word, /MISMATCH:out_trade_no/);
    }
  });

  it('a final state for another merchant decides nothing', () => {
    for (const field of ['appid', 'mch_id']) {
      const result = query({ ...paidFields, trade_state: 'SUCCESS', [field]: 'someone-else' });
      assert.equal(result.kind, 'unknown', field);
      assert.match(result.word, new RegExp(`MISMATCH:${field}`));
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
    assert.equal(readReverseAnswer({ kind: 'none', word: 'TIMEOUT' }, expected).kind, 'unknown');
  });
});
