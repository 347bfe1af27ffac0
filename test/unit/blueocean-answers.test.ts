import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'vitest';
import {
  type BlueoceanExpectation,
  type CallOutcome,
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
} from '#core/channels/blueocean/answers.ts';
import { blueocean } from '#core/channels/blueocean/index.ts';
import { blueoceanProtocol, payCodeClass } from '#core/channels/blueocean/protocol.ts';
import { fromBlueoceanTime, parseAnswer, signRequest, verifyData } from '#core/channels/blueocean/wire.ts';

const key = 'sandboxblueoceankey0123456789abc';
const expected: BlueoceanExpectation = {
  key,
  out_trade_no: '019b76daa80080d1fa57174f',
  total_fee: 101,
  currency: 'HKD',
  overTls: true,
};

type Fields = Record<string, string | number>;

/** BlueOcean's PHP reference signer, written out independently: every field but sign, empty ones included. */
function phpSign(fields: Fields, signKey: string): string {
  const text = Object.keys(fields)
    .filter((k) => k !== 'sign' && k !== 'key')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .concat(`key=${signKey}`)
    .join('&');
  return createHash('md5').update(text).digest('hex').toUpperCase();
}

/** `data` as BlueOcean sends it, signed by its reference rule unless told otherwise. */
function signed(data: Fields, options: { signWith?: string; unsigned?: boolean } = {}): Fields {
  const body: Fields = { appid: '1000258', nonce_str: 'd11CeiyVWd', ...data };
  if (!options.unsigned) body.sign = phpSign(body, options.signWith ?? key);
  return body;
}

const answer = (document: unknown): CallOutcome => ({ kind: 'answer', text: JSON.stringify(document) });

const paidData = {
  trade_state: 'SUCCESS',
  sn: '11201802091347484054542598',
  transaction_id: '4200000055201801314293325658',
  out_trade_no: expected.out_trade_no,
  fee_type: 'HKD',
  total_fee: 101,
  cash_fee_type: 'CNY',
  cash_fee: '89',
  attach: '',
  bank_type: 'CFT',
  time_end: '20180131165044',
};

/** The fields seed 000 lists for a `code=200` pay answer (返回结果, "如果code=200,data参数"): no trade_state. */
const seedPayData = {
  trade_type: 'MICROPAY',
  bank_type: 'CFT',
  cash_fee: 89,
  cash_fee_type: 'CNY',
  out_trade_no: expected.out_trade_no,
  transaction_id: '4200000055201801314293325658',
  fee_type: 'HKD',
  total_fee: 101,
  time_end: '20180131165044',
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  is_subscribe: 'N',
  device_info: 'till-4',
  attach: '',
};

describe('BlueOcean signing', () => {
  it("signs BlueOcean's published example to its published signature", () => {
    const params = { appid: '1000010', name: 'BlueOcean Pay', region: 'HK', business: 'Online payment' };
    assert.equal(signRequest(params, 'sxkj0RH9qMxdaxo0sJ8xlbki4ssOjvXb'), '08C612FB4D2D52C8C913EA00E3DABC8B');
  });

  it('verifies data signed with empty values included (its PHP code) or left out (WeChat rule)', () => {
    const data = { appid: '1000258', attach: '', total_fee: '5' };
    const withEmpty = { ...data, sign: phpSign(data, key) };
    const withoutEmpty = { ...data, sign: signRequest(data, key) };
    assert.notEqual(withEmpty.sign, withoutEmpty.sign);
    assert.equal(verifyData(withEmpty, key), true);
    assert.equal(verifyData(withoutEmpty, key), true);
    assert.equal(verifyData({ ...withEmpty, total_fee: '6' }, key), false);
    assert.equal(verifyData(withEmpty, 'another-key-000000000000000000000'), false);
    assert.equal(verifyData(withEmpty, ''), false);
  });

  it('reads codes sent as numbers or strings, and numbers as the text they were written in', () => {
    const parsed = parseAnswer(
      '{"code": 200, "message": "OK", "data": {"total_fee": 101, "x": "1.50", "y": null}}',
    );
    assert.deepEqual(parsed, {
      code: '200',
      message: 'OK',
      data: { total_fee: '101', x: '1.50', y: '' },
      bare: false,
    });
    assert.equal(parseAnswer('{"code": "40500", "message": "余额不足"}')?.bare, true);
    assert.equal(parseAnswer('{"code": 40500, "msg": "x", "extra": 1}')?.bare, false);
  });

  it('refuses documents that are not BlueOcean answers', () => {
    for (const text of [
      'not json',
      '[]',
      '{"message": "no code"}',
      '{"code": "2OO"}',
      '{"code": 200, "data": {"nested": {"a": 1}}}',
      '{"code": 200, "data": {"flag": true}}',
      `{"code": 200, "message": "${'x'.repeat(70_000)}"}`,
    ]) {
      assert.equal(parseAnswer(text), undefined, text.slice(0, 40));
    }
  });

  it("reads each of BlueOcean's time formats as Hong Kong time", () => {
    const epoch = Date.UTC(2018, 0, 31, 8, 50, 44) / 1000;
    assert.equal(fromBlueoceanTime('20180131165044'), epoch);
    assert.equal(fromBlueoceanTime('2018-01-31 16:50:44'), epoch);
    assert.equal(fromBlueoceanTime(String(epoch)), epoch);
    assert.equal(fromBlueoceanTime('0'), undefined);
    assert.equal(fromBlueoceanTime('yesterday'), undefined);
  });
});

describe('BlueOcean pay answers: only verified answers about this order decide', () => {
  const cases: { name: string; outcome: CallOutcome; kind: string; said?: RegExp }[] = [
    {
      name: 'a signed 200 SUCCESS about this order',
      outcome: answer({ code: 200, message: 'OK', data: signed(paidData) }),
      kind: 'paid',
    },
    {
      name: 'a 200 SUCCESS signed by the WeChat rule (empty values left out)',
      outcome: answer({
        code: '200',
        message: 'OK',
        data: (() => {
          const data = { appid: '1000258', ...paidData };
          return { ...data, sign: signRequest(data, key) };
        })(),
      }),
      kind: 'paid',
    },
    {
      name: 'an unsigned 200 SUCCESS',
      outcome: answer({ code: 200, data: signed(paidData, { unsigned: true }) }),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'a 200 SUCCESS signed with another key',
      outcome: answer({ code: 200, data: signed(paidData, { signWith: 'x'.repeat(32) }) }),
      kind: 'unknown',
      said: /BAD_SIGNATURE/,
    },
    {
      name: 'a 200 SUCCESS with the amount changed after signing',
      outcome: answer({ code: 200, data: { ...signed(paidData), total_fee: 1 } }),
      kind: 'unknown',
      said: /BAD_SIGNATURE/,
    },
    {
      name: 'a signed 200 SUCCESS about another order',
      outcome: answer({ code: 200, data: signed({ ...paidData, out_trade_no: '019b76daa80080d1fa571700' }) }),
      kind: 'unknown',
      said: /MISMATCH:out_trade_no/,
    },
    {
      name: 'a signed 200 SUCCESS for another amount',
      outcome: answer({ code: 200, data: signed({ ...paidData, total_fee: 100 }) }),
      kind: 'unknown',
      said: /MISMATCH:total_fee/,
    },
    {
      name: 'a signed 200 SUCCESS in another currency',
      outcome: answer({ code: 200, data: signed({ ...paidData, fee_type: 'CNY' }) }),
      kind: 'unknown',
      said: /MISMATCH:fee_type/,
    },
    {
      name: 'a signed 200 SUCCESS that states no amount',
      outcome: answer({
        code: 200,
        data: signed(Object.fromEntries(Object.entries(paidData).filter(([k]) => k !== 'total_fee'))),
      }),
      kind: 'unknown',
      said: /MISMATCH:total_fee/,
    },
    {
      name: 'a 200 whose order is still NOTPAY (unified API)',
      outcome: answer({ code: 200, data: signed({ ...paidData, trade_state: 'NOTPAY' }) }),
      kind: 'pending',
      said: /^NOTPAY$/,
    },
    {
      name: "the seed's signed 200 pay answer, which has no trade_state",
      outcome: answer({ code: 200, message: 'OK', data: signed(seedPayData) }),
      kind: 'paid',
    },
    {
      name: "the seed's 200 pay answer for another amount",
      outcome: answer({ code: 200, data: signed({ ...seedPayData, total_fee: 100 }) }),
      kind: 'unknown',
      said: /MISMATCH:total_fee/,
    },
    {
      name: "the seed's 200 pay answer about another order",
      outcome: answer({
        code: 200,
        data: signed({ ...seedPayData, out_trade_no: '019b76daa80080d1fa571700' }),
      }),
      kind: 'unknown',
      said: /MISMATCH:out_trade_no/,
    },
    {
      name: "the seed's 200 pay answer, unsigned",
      outcome: answer({ code: 200, data: signed(seedPayData, { unsigned: true }) }),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'a 200 with neither a trade_state nor the paid order’s transaction_id',
      outcome: answer({ code: 200, data: signed({ out_trade_no: expected.out_trade_no, total_fee: 101 }) }),
      kind: 'pending',
      said: /^200$/,
    },
    {
      name: 'a 200 without data',
      outcome: answer({ code: 200, message: 'OK' }),
      kind: 'unknown',
      said: /MALFORMED/,
    },
    {
      name: "a bare refusal over TLS (BlueOcean's unsigned error form)",
      outcome: answer({ code: 40500, message: '余额不足' }),
      kind: 'refused',
    },
    {
      name: 'a refusal carrying unsigned extra fields',
      outcome: answer({ code: 40500, message: 'x', trade_state: 'SUCCESS' }),
      kind: 'unknown',
      said: /UNSIGNED_WITH_EXTRA_FIELDS/,
    },
    {
      name: 'a refusal whose data is signed with another key',
      outcome: answer({
        code: 40500,
        message: 'x',
        data: signed({ out_trade_no: expected.out_trade_no }, { signWith: 'k'.repeat(32) }),
      }),
      kind: 'unknown',
      said: /BAD_SIGNATURE/,
    },
    {
      name: 'an unknown code',
      outcome: answer({ code: 49999, message: 'new' }),
      kind: 'pending',
      said: /^49999$/,
    },
    {
      name: 'a truncated body',
      outcome: { kind: 'answer', text: '{"code": 200, "da' },
      kind: 'unknown',
      said: /MALFORMED/,
    },
    { name: 'an HTML error page', outcome: { kind: 'answer', text: '<html>502</html>' }, kind: 'unknown' },
    { name: 'an HTTP error', outcome: { kind: 'none', said: 'HTTP_502' }, kind: 'unknown', said: /HTTP_502/ },
    { name: 'a timeout', outcome: { kind: 'none', said: 'TIMEOUT' }, kind: 'unknown', said: /TIMEOUT/ },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.kind}`, () => {
      const result = readPayAnswer(c.outcome, expected);
      assert.equal(result.kind, c.kind, result.said);
      if (c.said) assert.match(result.said, c.said);
    });
  }

  it('a bare refusal counts only over TLS', () => {
    const result = readPayAnswer(answer({ code: 40500, message: '余额不足' }), {
      ...expected,
      overTls: false,
    });
    assert.equal(result.kind, 'unknown');
    assert.match(result.said, /UNSIGNED_WITHOUT_TLS/);
  });

  for (const [code, reading] of Object.entries(payCodeClass)) {
    it(`code ${code} → ${reading}, with BlueOcean's code and text`, () => {
      const result = readPayAnswer(answer({ code: Number(code), message: `message ${code}` }), expected);
      assert.equal(result.kind, reading);
      assert.equal(result.said, code);
      assert.ok(result.kind === 'pending' || result.kind === 'refused');
      assert.equal(result.errCode, code);
      assert.equal(result.errMsg, `message ${code}`);
    });
  }

  it('picks the 10 s schedule after 201 and the 5 s one after busy answers, by what the result said', () => {
    const said = (code: number) => readPayAnswer(answer({ code, message: '' }), expected).said;
    assert.equal(blueoceanProtocol.scheduleAfter?.[said(201)]?.firstQueryDelayMs, 10_000);
    for (const busy of [40400, 4006]) {
      assert.equal(blueoceanProtocol.scheduleAfter?.[said(busy)], undefined);
      assert.equal(blueoceanProtocol.firstQueryDelayMs, 5_000);
    }
  });

  it('records sn as the channel id, transaction_id as the payment id, and cash_fee with its currency', () => {
    const result = readPayAnswer(answer({ code: 200, data: signed(paidData) }), expected);
    assert.equal(result.kind, 'paid');
    if (result.kind !== 'paid') return;
    assert.deepEqual(result.details, {
      ch_trade_id: paidData.sn,
      out_trade_id: paidData.transaction_id,
      fee_type: 'HKD',
      cash_fee: 89,
      cash_fee_type: 'CNY',
      bank_type: 'CFT',
      time_end: Date.UTC(2018, 0, 31, 8, 50, 44) / 1000,
    });
    assert.equal(result.proof.basis, 'signature');
  });

  it("reads the seed's pay answer as paid with its ids, amounts and time", () => {
    const result = readPayAnswer(answer({ code: 200, data: signed(seedPayData) }), expected);
    assert.ok(result.kind === 'paid', result.said);
    assert.deepEqual(result.details, {
      out_trade_id: seedPayData.transaction_id,
      fee_type: 'HKD',
      cash_fee: 89,
      cash_fee_type: 'CNY',
      bank_type: 'CFT',
      openid: seedPayData.openid,
      is_subscribe: 'N',
      time_end: Date.UTC(2018, 0, 31, 8, 50, 44) / 1000,
    });
  });

  it('keeps no cash_fee whose currency is not stated', () => {
    const result = readPayAnswer(
      answer({ code: 200, data: signed({ ...paidData, cash_fee_type: '' }) }),
      expected,
    );
    assert.ok(result.kind === 'paid');
    assert.equal(result.details.cash_fee, undefined);
    assert.equal('fee_type' in result.details, true);
  });
});

describe('BlueOcean query answers', () => {
  const query = (data: Fields, code: number | string = 200) =>
    readQueryAnswer(answer({ code, data: signed(data) }), expected);

  it('a verified SUCCESS about this order and amount is paid', () => {
    const result = query({ ...paidData, time_end: '2018-01-31 16:50:44' });
    assert.ok(result.kind === 'paid' && !result.refunded);
    assert.equal(result.details.time_end, Date.UTC(2018, 0, 31, 8, 50, 44) / 1000);
  });

  it('REFUND is paid, then refunded', () => {
    const result = query({ ...paidData, trade_state: 'REFUND' });
    assert.ok(result.kind === 'paid' && result.refunded);
  });

  for (const [state, kind] of [
    ['CLOSED', 'closed'],
    ['REVOKED', 'reversed'],
    ['PAYERROR', 'failed'],
    ['USERPAYING', 'pending'],
    ['NOTPAY', 'pending'],
    ['SOMETHING_NEW', 'pending'],
  ] as const) {
    it(`${state} about this order → ${kind}`, () => {
      assert.equal(query({ out_trade_no: expected.out_trade_no, trade_state: state }).kind, kind);
    });
  }

  it('NOTPAY or USERPAYING decide nothing, so they need no signature (the seed lists none for them)', () => {
    const result = readQueryAnswer(
      answer({ code: 200, data: { trade_state: 'USERPAYING', trade_state_desc: '支付中' } }),
      expected,
    );
    assert.equal(result.kind, 'pending');
  });

  it('a SUCCESS or REFUND for another amount, or stating none, decides nothing', () => {
    for (const state of ['SUCCESS', 'REFUND']) {
      const other = query({ ...paidData, trade_state: state, total_fee: 100 });
      assert.equal(other.kind, 'unknown', state);
      assert.match(other.said, /MISMATCH:total_fee/);
      const { total_fee: _omitted, ...noAmount } = paidData;
      const none = query({ ...noAmount, trade_state: state });
      assert.equal(none.kind, 'unknown', state);
      assert.match(none.said, /MISMATCH:total_fee/);
    }
  });

  it('a final state in another currency, or stating another amount, decides nothing', () => {
    for (const state of ['SUCCESS', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      assert.match(query({ ...paidData, trade_state: state, fee_type: 'CNY' }).said, /MISMATCH:fee_type/);
      assert.match(
        query({ out_trade_no: expected.out_trade_no, total_fee: 7, trade_state: state }).said,
        /MISMATCH:total_fee/,
      );
    }
  });

  it('a final state that names no order decides nothing', () => {
    for (const state of ['SUCCESS', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      const { out_trade_no: _omitted, ...fields } = paidData;
      assert.match(query({ ...fields, trade_state: state }).said, /MISMATCH:out_trade_no/, state);
    }
  });

  it('a final state about another order, or unsigned, decides nothing', () => {
    for (const state of ['SUCCESS', 'CLOSED', 'REVOKED', 'PAYERROR']) {
      assert.equal(
        query({ ...paidData, out_trade_no: 'another-order', trade_state: state }).kind,
        'unknown',
        state,
      );
      const unsigned = readQueryAnswer(
        answer({ code: 200, data: signed({ ...paidData, trade_state: state }, { unsigned: true }) }),
        expected,
      );
      assert.equal(unsigned.kind, 'unknown', state);
    }
  });

  it('40102 (no such order yet) and other codes leave the order open', () => {
    for (const code of [40102, 40400, 4006, 0]) {
      assert.equal(readQueryAnswer(answer({ code, message: '' }), expected).kind, 'pending');
    }
  });
});

describe('BlueOcean reverse answers', () => {
  const reverse = (data: Fields, options = {}) =>
    readReverseAnswer(answer({ code: 200, data: signed(data, options) }), expected);

  it('a verified 200 with recall=N is a reverse that happened', () => {
    assert.equal(reverse({ recall: 'N' }).kind, 'reversed');
  });

  it('recall=Y means reverse again', () => {
    assert.equal(reverse({ recall: 'Y' }).kind, 'retry');
  });

  it('an unsigned, wrongly signed or foreign 200 is no reverse', () => {
    assert.equal(reverse({ recall: 'N' }, { unsigned: true }).kind, 'unknown');
    assert.equal(reverse({ recall: 'N' }, { signWith: 'y'.repeat(32) }).kind, 'unknown');
    assert.equal(reverse({ recall: 'N', out_trade_no: 'another-order' }).kind, 'unknown');
  });

  // BlueOcean's API document shows reverse answering like query: the order, in its trade_state, no recall.
  const revokedOrder = {
    out_trade_no: expected.out_trade_no,
    sn: paidData.sn,
    transaction_id: paidData.transaction_id,
    total_fee: 101,
    fee_type: 'HKD',
    trade_state: 'REVOKED',
    trade_state_desc: '已撤销',
  };

  it('a verified 200 that returns this order REVOKED or CLOSED, with no recall, is a reverse that happened', () => {
    assert.equal(reverse(revokedOrder).kind, 'reversed');
    assert.equal(reverse({ ...revokedOrder, trade_state: 'CLOSED' }).kind, 'reversed');
    assert.equal(reverse({ ...revokedOrder, recall: 'N' }).kind, 'reversed');
  });

  it('a 200 that returns the order in any other state, or asks again, is no reverse yet', () => {
    for (const state of ['SUCCESS', 'USERPAYING', 'NOTPAY', 'PAYERROR', 'SOMETHING_NEW']) {
      assert.equal(reverse({ ...revokedOrder, trade_state: state }).kind, 'unknown', state);
    }
    assert.equal(reverse({ ...revokedOrder, recall: 'Y' }).kind, 'retry');
  });

  it('a 200 that returns another order, another amount, an unsigned one or none at all, is no reverse', () => {
    assert.match(reverse({ ...revokedOrder, out_trade_no: 'another-order' }).said, /MISMATCH:out_trade_no/);
    assert.match(reverse({ ...revokedOrder, total_fee: 100 }).said, /MISMATCH:total_fee/);
    assert.match(reverse({ ...revokedOrder, fee_type: 'CNY' }).said, /MISMATCH:fee_type/);
    const { out_trade_no: _omitted, ...noOrder } = revokedOrder;
    assert.match(reverse(noOrder).said, /MISMATCH:out_trade_no/);
    assert.equal(reverse(revokedOrder, { unsigned: true }).kind, 'unknown');
    assert.equal(reverse(revokedOrder, { signWith: 'y'.repeat(32) }).kind, 'unknown');
  });

  it('"already reversed" (40104) means an earlier reverse went through; only bare, over TLS', () => {
    const bare = answer({ code: 40104, message: '订单已撤销' });
    assert.equal(readReverseAnswer(bare, expected).kind, 'reversed');
    assert.equal(readReverseAnswer(bare, { ...expected, overTls: false }).kind, 'unknown');
  });

  it('errors and silence are no reverse', () => {
    assert.equal(readReverseAnswer(answer({ code: 40400, message: '系统繁忙' }), expected).kind, 'unknown');
    assert.equal(readReverseAnswer({ kind: 'none', said: 'TIMEOUT' }, expected).kind, 'unknown');
    assert.equal(reverse({}).kind, 'unknown');
  });
});

describe('BlueOcean account setup check', () => {
  const channel = blueocean;

  it('accepts an appid, a currency and a key', () => {
    assert.deepEqual(channel.validateSetup({ appid: '1000258', currency: 'HKD' }, { api_key: key }), []);
    assert.deepEqual(
      channel.validateSetup({ appid: '1000258', currency: 'HKD', api: 'unified' }, { api_key: key }),
      [],
    );
  });

  it('names everything that is missing or wrong', () => {
    const problems = channel.validateSetup({ api: 'v9' }, {});
    assert.deepEqual(problems, [
      'blueocean account needs appid',
      'blueocean api must be one of wechat, unified',
      'blueocean account needs its currency (ISO 4217, HKD in Hong Kong)',
      'blueocean credentials need the api_key BlueOcean issued (at least 16 characters)',
    ]);
  });
});

describe('BlueOcean answers: every check, and the words kept in the history', () => {
  const query = (data: Fields, code: number | string = 200) =>
    readQueryAnswer(answer({ code, data: signed(data) }), expected);
  const reverse = (body: unknown) => readReverseAnswer(answer(body), expected);

  it('a signed refusal that names another order, amount or currency refuses nothing', () => {
    for (const [field, value] of [
      ['out_trade_no', 'another-order'],
      ['total_fee', 7],
      ['fee_type', 'CNY'],
    ] as const) {
      const result = readPayAnswer(
        answer({ code: 40500, message: 'x', data: signed({ [field]: value }) }),
        expected,
      );
      assert.deepEqual([result.kind, result.said], ['unknown', `MISMATCH:${field}`]);
    }
    const ours = readPayAnswer(
      answer({ code: 40500, message: '余额不足', data: signed({ out_trade_no: expected.out_trade_no }) }),
      expected,
    );
    assert.deepEqual([ours.kind, ours.said], ['refused', '40500']);
  });

  it('query: no answer, no data, no state: each leaves the order open, saying which', () => {
    assert.deepEqual(readQueryAnswer({ kind: 'none', said: 'TIMEOUT' }, expected), {
      kind: 'unknown',
      said: 'TIMEOUT',
    });
    assert.deepEqual(readQueryAnswer(answer({ code: 200, message: 'OK' }), expected), {
      kind: 'unknown',
      said: 'MALFORMED',
    });
    assert.deepEqual(query({ out_trade_no: expected.out_trade_no }), { kind: 'pending', said: 'UNKNOWN' });
    assert.deepEqual(readQueryAnswer(answer({ code: 40102, message: '订单不存在' }), expected), {
      kind: 'pending',
      said: '40102',
    });
  });

  it('query: a failed payment carries its description, or its state when BlueOcean gives none', () => {
    const described = query({
      out_trade_no: expected.out_trade_no,
      trade_state: 'PAYERROR',
      trade_state_desc: '支付失败',
    });
    assert.ok(
      described.kind === 'failed' && described.errMsg === '支付失败' && described.said === 'PAYERROR',
    );
    const bare = query({ out_trade_no: expected.out_trade_no, trade_state: 'PAYERROR' });
    assert.ok(bare.kind === 'failed' && bare.errMsg === 'PAYERROR');
  });

  it('reverse: the words say what BlueOcean answered', () => {
    assert.deepEqual(reverse({ code: 200, data: signed({ recall: 'Y' }) }), {
      kind: 'retry',
      said: 'recall=Y',
    });
    const done = reverse({ code: 200, data: signed({ recall: 'N' }) });
    assert.deepEqual([done.kind, done.said], ['reversed', 'SUCCESS']);
    assert.deepEqual(reverse({ code: 200, data: signed({}) }), { kind: 'unknown', said: 'MALFORMED' });
    assert.deepEqual(reverse({ code: 200, message: 'OK' }), { kind: 'unknown', said: 'MALFORMED' });
    assert.deepEqual(reverse({ code: 40400, message: '系统繁忙' }), { kind: 'unknown', said: '40400' });
    assert.deepEqual(readReverseAnswer({ kind: 'none', said: 'TIMEOUT' }, expected), {
      kind: 'unknown',
      said: 'TIMEOUT',
    });
    const revoked = reverse({
      code: 200,
      data: signed({ out_trade_no: expected.out_trade_no, trade_state: 'REVOKED' }),
    });
    assert.deepEqual([revoked.kind, revoked.said], ['reversed', 'REVOKED']);
    assert.deepEqual(
      reverse({ code: 200, data: signed({ out_trade_no: expected.out_trade_no, trade_state: 'SUCCESS' }) }),
      {
        kind: 'unknown',
        said: 'SUCCESS',
      },
    );
    // "Already reversed" signed, about our order, counts too; with unsigned extra fields it is not BlueOcean's form.
    const signedAlready = reverse({
      code: 40104,
      message: '订单已撤销',
      data: signed({ out_trade_no: expected.out_trade_no }),
    });
    assert.deepEqual([signedAlready.kind, signedAlready.said], ['reversed', '40104']);
    assert.equal(reverse({ code: 40104, message: 'x', recall: 'N' }).said, 'UNSIGNED_WITH_EXTRA_FIELDS');
  });

  it('a 200 that says SUCCESS is paid even without a transaction_id; only a stateless 200 needs one', () => {
    const { transaction_id: _omitted, ...noTransaction } = paidData;
    const result = readPayAnswer(answer({ code: 200, data: signed(noTransaction) }), expected);
    assert.deepEqual([result.kind, result.said], ['paid', 'SUCCESS']);
  });

  it('reads whole amounts only, and empty fields as not given', () => {
    const result = readPayAnswer(
      answer({ code: 200, data: signed({ ...paidData, cash_fee: '8.9', bank_type: '', sn: '' }) }),
      expected,
    );
    assert.ok(result.kind === 'paid');
    assert.equal(result.details.cash_fee, undefined);
    assert.equal('bank_type' in result.details, false);
    assert.equal('ch_trade_id' in result.details, false);
    assert.equal(result.said, 'SUCCESS');
  });
});
