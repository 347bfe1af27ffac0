import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'vitest';
import {
  type AlipayExpectation,
  type AlipayMethod,
  type CallOutcome,
  readCancelAnswer,
  readPayAnswer,
  readQueryAnswer,
} from '#core/channels/alipay/answers.ts';
import { paySubCodeClass } from '#core/channels/alipay/protocol.ts';
import { rsa2Sign } from '#core/channels/alipay/wire.ts';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipayKeys = rsa();
const strangerKeys = rsa();

const expected: AlipayExpectation = {
  alipayPublicKey: alipayKeys.publicKey,
  app_id: '2021000000000001',
  out_trade_no: '019b76daa80080d1fa57174f',
  total_fee: 101,
};

type Node = Record<string, unknown>;

interface AnswerOptions {
  readonly signWith?: KeyObject;
  readonly unsigned?: boolean;
  /** The node as sent; default: JSON.stringify of the fields. */
  readonly raw?: string;
  /** Applied to the whole answer text after signing. */
  readonly after?: (text: string) => string;
}

/** An answer Alipay would send: `{"<method>_response": node, "sign": RSA2(node as sent)}`. */
function answer(method: AlipayMethod, node: Node, options: AnswerOptions = {}): CallOutcome {
  const raw = options.raw ?? JSON.stringify(node);
  const key = `${method.replaceAll('.', '_')}_response`;
  const sign = options.unsigned
    ? ''
    : `,"sign":${JSON.stringify(rsa2Sign(raw, options.signWith ?? alipayKeys.privateKey))}`;
  const text = `{"${key}":${raw}${sign}}`;
  return { kind: 'answer', text: options.after ? options.after(text) : text };
}

const paidNode: Node = {
  code: '10000',
  msg: 'Success',
  buyer_logon_id: '159****5620',
  buyer_pay_amount: '1.01',
  buyer_user_id: '2088101117955611',
  fund_bill_list: [
    { amount: '1.00', fund_channel: 'ALIPAYACCOUNT', fund_type: 'DEBIT_CARD' },
    { amount: '0.01', fund_channel: 'POINT' },
  ],
  gmt_payment: '2026-01-01 20:00:00',
  invoice_amount: '1.01',
  out_trade_no: expected.out_trade_no,
  point_amount: '0.01',
  receipt_amount: '1.01',
  total_amount: '1.01',
  trade_no: '2026010122001455610500012345',
};

const pay = (node: Node, options?: AnswerOptions) =>
  readPayAnswer(answer('alipay.trade.pay', node, options), expected);
const failed = (subCode: string, extra: Node = {}): Node => ({
  code: '40004',
  msg: 'Business Failed',
  sub_code: subCode,
  sub_msg: 'x',
  out_trade_no: expected.out_trade_no,
  ...extra,
});

describe('Alipay pay answers: only verified answers about this order and amount decide', () => {
  const cases: { name: string; outcome: CallOutcome; kind: string; said?: RegExp }[] = [
    {
      name: 'a signed 10000 about this order and amount',
      outcome: answer('alipay.trade.pay', paidNode),
      kind: 'paid',
    },
    {
      name: 'an unsigned 10000',
      outcome: answer('alipay.trade.pay', paidNode, { unsigned: true }),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'a 10000 signed with another key',
      outcome: answer('alipay.trade.pay', paidNode, { signWith: strangerKeys.privateKey }),
      kind: 'unknown',
      said: /^BAD_SIGNATURE$/,
    },
    {
      name: 'a 10000 changed by one byte after signing',
      outcome: answer('alipay.trade.pay', paidNode, { after: (t) => t.replace('"1.01"', '"1.02"') }),
      kind: 'unknown',
      said: /^BAD_SIGNATURE$/,
    },
    {
      name: 'a signed 10000 re-serialized with other whitespace (the signature covers the bytes as sent)',
      outcome: answer('alipay.trade.pay', paidNode, {
        after: (t) => t.replace('"code":"10000"', '"code": "10000"'),
      }),
      kind: 'unknown',
      said: /^BAD_SIGNATURE$/,
    },
    {
      name: 'a signed 10000 about another order',
      outcome: answer('alipay.trade.pay', { ...paidNode, out_trade_no: '019b76daa80080d1fa571700' }),
      kind: 'unknown',
      said: /^MISMATCH:out_trade_no$/,
    },
    {
      name: 'a signed 10000 that names no order',
      outcome: answer('alipay.trade.pay', { ...paidNode, out_trade_no: undefined }),
      kind: 'unknown',
      said: /^MISMATCH:out_trade_no$/,
    },
    {
      name: 'a signed 10000 for another amount',
      outcome: answer('alipay.trade.pay', { ...paidNode, total_amount: '0.01' }),
      kind: 'unknown',
      said: /^MISMATCH:total_amount$/,
    },
    {
      name: 'a signed 10000 whose amount has more decimals than fen',
      outcome: answer('alipay.trade.pay', { ...paidNode, total_amount: '1.010' }),
      kind: 'unknown',
      said: /^MISMATCH:total_amount$/,
    },
    {
      name: 'a signed 10000 whose amount is a JSON number',
      outcome: answer('alipay.trade.pay', { ...paidNode, total_amount: 1.01 }),
      kind: 'unknown',
      said: /^MISMATCH:total_amount$/,
    },
    {
      name: '10003 (the buyer is confirming), read by its code whatever msg says',
      outcome: answer('alipay.trade.pay', {
        code: '10003',
        msg: ' order success pay inprocess',
        out_trade_no: expected.out_trade_no,
      }),
      kind: 'pending',
      said: /^10003$/,
    },
    {
      name: 'a signed 20000 (service unavailable)',
      outcome: answer('alipay.trade.pay', {
        code: '20000',
        msg: 'Service Currently Unavailable',
        sub_code: 'isp.unknow-error',
      }),
      kind: 'pending',
      said: /^isp\.unknow-error$/,
    },
    {
      name: 'a signed 40002 isv.invalid-signature: the gateway refused the request itself',
      outcome: answer('alipay.trade.pay', {
        code: '40002',
        msg: 'Invalid Arguments',
        sub_code: 'isv.invalid-signature',
      }),
      kind: 'refused',
      said: /^isv\.invalid-signature$/,
    },
    {
      name: 'an unsigned refusal',
      outcome: answer('alipay.trade.pay', failed('ACQ.BUYER_BALANCE_NOT_ENOUGH'), { unsigned: true }),
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'a signed refusal about another order',
      outcome: answer(
        'alipay.trade.pay',
        failed('ACQ.BUYER_BALANCE_NOT_ENOUGH', { out_trade_no: 'another-order' }),
      ),
      kind: 'unknown',
      said: /^MISMATCH:out_trade_no$/,
    },
    {
      name: 'a sub_code Alipay never documented',
      outcome: answer('alipay.trade.pay', failed('ACQ.SOMETHING_NEW')),
      kind: 'pending',
      said: /^ACQ\.SOMETHING_NEW$/,
    },
    {
      name: 'a code Alipay never documented',
      outcome: answer('alipay.trade.pay', { code: '10009', msg: '?', out_trade_no: expected.out_trade_no }),
      kind: 'pending',
    },
    {
      name: 'an error_response (the gateway never got to the method)',
      outcome: {
        kind: 'answer',
        text: `{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}`,
      },
      kind: 'unknown',
      said: /^UNSIGNED$/,
    },
    {
      name: 'a truncated body',
      outcome: answer('alipay.trade.pay', paidNode, { after: (t) => t.slice(0, 80) }),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'a body that names the response node twice',
      outcome: answer('alipay.trade.pay', paidNode, {
        after: (t) =>
          t.replace(
            '{"alipay_trade_pay_response":',
            '{"alipay_trade_pay_response":{"code":"40004"},"alipay_trade_pay_response":',
          ),
      }),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'a node that is not an object',
      outcome: answer('alipay.trade.pay', {}, { raw: '"10000"' }),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'an answer for another method',
      outcome: answer('alipay.trade.query', paidNode),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'a sign that is not a string',
      outcome: answer('alipay.trade.pay', paidNode, {
        after: (t) => t.replace(/"sign":"[^"]+"/, '"sign":7'),
      }),
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    {
      name: 'not JSON at all',
      outcome: { kind: 'answer', text: '<html>502 Bad Gateway</html>' },
      kind: 'unknown',
      said: /^MALFORMED$/,
    },
    { name: 'a JSON array', outcome: { kind: 'answer', text: '[1]' }, kind: 'unknown', said: /^MALFORMED$/ },
    {
      name: 'an HTTP error',
      outcome: { kind: 'none', said: 'HTTP_502' },
      kind: 'unknown',
      said: /^HTTP_502$/,
    },
    { name: 'a timeout', outcome: { kind: 'none', said: 'TIMEOUT' }, kind: 'unknown', said: /^TIMEOUT$/ },
    {
      name: 'a transport error',
      outcome: { kind: 'none', said: 'NETWORK_ERROR' },
      kind: 'unknown',
      said: /^NETWORK_ERROR$/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.kind}`, () => {
      const result = readPayAnswer(c.outcome, expected);
      assert.equal(result.kind, c.kind);
      if (c.said) assert.match(result.said, c.said);
    });
  }

  for (const [subCode, reading] of Object.entries(paySubCodeClass)) {
    it(`40004 ${subCode} (signed) → ${reading}`, () => {
      const result = pay(failed(subCode));
      assert.equal(result.kind, reading);
      assert.equal(result.said, subCode);
      if (result.kind === 'refused') assert.equal(result.errCode, subCode);
    });
  }

  it('a refusal that names no order (as some do) counts on its signature', () => {
    assert.equal(pay(failed('ACQ.PAYMENT_AUTH_CODE_INVALID', { out_trade_no: undefined })).kind, 'refused');
  });

  it("keeps no payment code from Alipay's message: its signature refusal quotes the signed string", () => {
    const result = pay({
      code: '40002',
      msg: 'Invalid Arguments',
      sub_code: 'isv.invalid-signature',
      sub_msg:
        '验签出错，网关生成的验签字符串为：biz_content={"auth_code":"286789012345678900"}&trade_no=2026010122001455610500012345',
    });
    assert.ok(result.kind === 'refused');
    assert.equal(result.errMsg.includes('286789012345678900'), false);
    assert.match(result.errMsg, /"auth_code":"2867\*{10}8900".*2026010122001455610500012345/);
  });

  it('nothing verifies without Alipay public key', () => {
    const result = readPayAnswer(answer('alipay.trade.pay', paidNode), {
      ...expected,
      alipayPublicKey: undefined,
    });
    assert.deepEqual([result.kind, result.said], ['unknown', 'NO_ALIPAY_PUBLIC_KEY']);
  });

  it('verifies the node exactly as sent: spaces, escaped slashes and unicode escapes included', () => {
    const raw = `{ "code" : "10000", "msg":"Success", "out_trade_no":"${expected.out_trade_no}", "total_amount":"1.01", "trade_no":"2026\\/01", "buyer_logon_id":"\\u4e2d\\u6587" }`;
    const result = pay({}, { raw });
    assert.equal(result.kind, 'paid');
    assert.equal(result.kind === 'paid' && result.details.out_trade_id, '2026/01');
    assert.equal(result.kind === 'paid' && result.details.buyer_logon_id, '中文');
  });

  it('puts what seed 002 shows on the paid order: ids, buyer, amounts in fen, funds as sent, time_end', () => {
    const result = pay(paidNode);
    assert.ok(result.kind === 'paid');
    assert.deepEqual(result.details, {
      out_trade_id: paidNode.trade_no,
      ch_trade_id: paidNode.trade_no,
      appid: expected.app_id,
      openid: '2088101117955611',
      bank_type: 'DEBIT_CARD',
      buyer_logon_id: '159****5620',
      buyer_user_id: '2088101117955611',
      buyer_pay_amount: 101,
      invoice_amount: 101,
      point_amount: 1,
      receipt_amount: 101,
      fund_bill_list: JSON.stringify(paidNode.fund_bill_list),
      // 2026-01-01 20:00:00 in Beijing is 12:00 UTC.
      time_end: Date.parse('2026-01-01T12:00:00Z') / 1000,
    });
  });

  it('keeps fund_bill_list byte for byte as Alipay wrote it', () => {
    const bills = '[ {"amount":"1.01" , "fund_channel":"ALIPAYACCOUNT"} ]';
    const raw = JSON.stringify({ ...paidNode, fund_bill_list: 'BILLS' }).replace('"BILLS"', bills);
    const result = pay({}, { raw });
    assert.equal(result.kind === 'paid' && result.details.fund_bill_list, bills);
  });

  it('never reads an amount through floating point: a yuan string that is not exact leaves the amount out', () => {
    const result = pay({ ...paidNode, buyer_pay_amount: '1.011', point_amount: '1e2' });
    assert.ok(result.kind === 'paid');
    assert.equal(result.details.buyer_pay_amount, undefined);
    assert.equal(result.details.point_amount, undefined);
  });
});

describe('Alipay query answers', () => {
  const query = (node: Node, options?: AnswerOptions) =>
    readQueryAnswer(
      answer('alipay.trade.query', { code: '10000', msg: 'Success', ...node }, options),
      expected,
    );
  const about = { out_trade_no: expected.out_trade_no, trade_no: paidNode.trade_no, total_amount: '1.01' };

  for (const status of ['TRADE_SUCCESS', 'TRADE_FINISHED']) {
    it(`${status} about this order and amount is paid, with the payment details`, () => {
      const result = query({ ...about, trade_status: status, send_pay_date: '2026-01-01 20:00:01' });
      assert.ok(result.kind === 'paid' && !result.refunded);
      assert.equal(result.details.out_trade_id, paidNode.trade_no);
      assert.equal(result.details.time_end, Date.parse('2026-01-01T12:00:01Z') / 1000);
    });
  }

  it('TRADE_CLOSED about this order: the payment failed (trade_state 7)', () => {
    const result = query({ ...about, trade_status: 'TRADE_CLOSED' });
    assert.equal(result.kind, 'failed');
    assert.equal(result.said, 'TRADE_CLOSED');
  });

  for (const [name, node] of [
    ['WAIT_BUYER_PAY', { ...about, trade_status: 'WAIT_BUYER_PAY' }],
    ['an unknown trade_status', { ...about, trade_status: 'TRADE_SOMETHING' }],
    ['40004 ACQ.TRADE_NOT_EXIST', { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST' }],
    ['40004 ACQ.SYSTEM_ERROR', { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SYSTEM_ERROR' }],
    ['20000', { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error' }],
  ] as const) {
    it(`${name} leaves the outcome open`, () => {
      assert.equal(query(node).kind, 'pending');
    });
  }

  it('a final status about another order, or another amount, decides nothing', () => {
    for (const status of ['TRADE_SUCCESS', 'TRADE_CLOSED']) {
      assert.equal(
        query({ ...about, out_trade_no: 'another-order', trade_status: status }).kind,
        'unknown',
        status,
      );
    }
    assert.equal(query({ ...about, total_amount: '101', trade_status: 'TRADE_SUCCESS' }).kind, 'unknown');
  });

  it('an unsigned or wrongly signed TRADE_SUCCESS or TRADE_CLOSED decides nothing', () => {
    for (const status of ['TRADE_SUCCESS', 'TRADE_CLOSED']) {
      assert.equal(query({ ...about, trade_status: status }, { unsigned: true }).kind, 'unknown', status);
      assert.equal(
        query({ ...about, trade_status: status }, { signWith: strangerKeys.privateKey }).kind,
        'unknown',
      );
    }
  });

  it('no answer is unknown', () => {
    assert.equal(readQueryAnswer({ kind: 'none', said: 'TIMEOUT' }, expected).kind, 'unknown');
  });
});

describe('Alipay cancel answers', () => {
  const cancel = (node: Node, options?: AnswerOptions) =>
    readCancelAnswer(
      answer(
        'alipay.trade.cancel',
        { msg: 'Success', out_trade_no: expected.out_trade_no, ...node },
        options,
      ),
      expected,
    );

  for (const action of ['close', 'refund']) {
    it(`a verified 10000 with retry_flag=N is a cancel that happened, recording action ${action}`, () => {
      const result = cancel({ code: '10000', retry_flag: 'N', action });
      assert.ok(result.kind === 'reversed');
      assert.equal(result.action, action);
    });
  }

  it('retry_flag=Y means cancel again, whatever code says', () => {
    assert.equal(cancel({ code: '10000', retry_flag: 'Y' }).kind, 'retry');
    const failedRetry = cancel({ code: '40004', sub_code: 'ACQ.SYSTEM_ERROR', retry_flag: 'Y' });
    assert.deepEqual([failedRetry.kind, failedRetry.said], ['retry', 'ACQ.SYSTEM_ERROR retry_flag=Y']);
  });

  it('a 20000, or a refusal with retry_flag=N, cancelled nothing: keep trying, then alarm', () => {
    assert.equal(cancel({ code: '20000', sub_code: 'isp.unknow-error' }).kind, 'unknown');
    assert.equal(
      cancel({ code: '40004', sub_code: 'ACQ.REASON_TRADE_BEEN_FREEZEN', retry_flag: 'N' }).kind,
      'unknown',
    );
  });

  it('an unsigned, wrongly signed or foreign 10000 is no cancel', () => {
    const ok = { code: '10000', retry_flag: 'N', action: 'close' };
    assert.equal(cancel(ok, { unsigned: true }).kind, 'unknown');
    assert.equal(cancel(ok, { signWith: strangerKeys.privateKey }).kind, 'unknown');
    assert.equal(cancel({ ...ok, out_trade_no: 'another-order' }).kind, 'unknown');
    assert.equal(cancel({ ...ok, out_trade_no: undefined }).kind, 'unknown');
  });

  it('no answer is no cancel', () => {
    assert.equal(readCancelAnswer({ kind: 'none', said: 'TIMEOUT' }, expected).kind, 'unknown');
  });
});

describe('Alipay answers: every check, and the words kept in the history', () => {
  const query = (node: Node, options?: AnswerOptions) =>
    readQueryAnswer(answer('alipay.trade.query', node, options), expected);
  const cancel = (node: Node, options?: AnswerOptions) =>
    readCancelAnswer(answer('alipay.trade.cancel', node, options), expected);
  const raw = (text: string): CallOutcome => ({ kind: 'answer', text });

  it('reads only a node that is an object, with a text sign, within 64 KiB', () => {
    for (const text of [
      '{"alipay_trade_pay_response":[1],"sign":"x"}',
      '{"alipay_trade_pay_response":null,"sign":"x"}',
      '{"alipay_trade_pay_response":"10000","sign":"x"}',
      '{"alipay_trade_pay_response":{"code":"10000"},"sign":7}',
      '{"other_response":{"code":"10000"},"sign":"x"}',
    ]) {
      assert.deepEqual(readPayAnswer(raw(text), expected), { kind: 'unknown', said: 'MALFORMED' }, text);
    }
    const huge = answer('alipay.trade.pay', { ...paidNode, padding: 'x'.repeat(70_000) });
    assert.deepEqual(readPayAnswer(huge, expected), { kind: 'unknown', said: 'TOO_LARGE' });
    // The largest answer read: 64 KiB exactly.
    const sized = (n: number) => answer('alipay.trade.pay', { ...paidNode, padding: 'x'.repeat(n) });
    const base = (sized(0) as { text: string }).text.length;
    assert.equal((sized(65_536 - base) as { text: string }).text.length, 65_536);
    assert.equal(readPayAnswer(sized(65_536 - base), expected).kind, 'paid');
    assert.equal(readPayAnswer(sized(65_537 - base), expected).said, 'TOO_LARGE');
  });

  it('a node without code is malformed, whichever the call', () => {
    const node = { msg: 'Success', out_trade_no: expected.out_trade_no };
    assert.deepEqual(readPayAnswer(answer('alipay.trade.pay', node), expected), {
      kind: 'unknown',
      said: 'MALFORMED',
    });
    assert.deepEqual(query(node), { kind: 'unknown', said: 'MALFORMED' });
    assert.deepEqual(cancel(node), { kind: 'unknown', said: 'MALFORMED' });
  });

  it('a stated amount must be ours to the fen in any answer; a paid one must state it', () => {
    assert.equal(pay({ ...paidNode, total_amount: '1.00' }).said, 'MISMATCH:total_amount');
    assert.equal(pay({ ...paidNode, total_amount: undefined }).said, 'MISMATCH:total_amount');
    assert.equal(pay({ ...paidNode, total_amount: '1.010' }).said, 'MISMATCH:total_amount');
    const waiting = query({
      code: '10000',
      trade_status: 'WAIT_BUYER_PAY',
      out_trade_no: expected.out_trade_no,
      total_amount: '9.99',
    });
    assert.deepEqual(waiting, { kind: 'unknown', said: 'MISMATCH:total_amount' });
    const closed = query({
      code: '10000',
      trade_status: 'TRADE_CLOSED',
      out_trade_no: expected.out_trade_no,
    });
    assert.equal(closed.kind, 'failed');
    // A stated amount that is no amount of fen is not ours either, even where none is needed.
    const odd = query({ code: '10000', trade_status: 'WAIT_BUYER_PAY', total_amount: '1.010' });
    assert.deepEqual(odd, { kind: 'unknown', said: 'MISMATCH:total_amount' });
  });

  it('a refusal keeps the sub_code (else the code) and the text Alipay gave (sub_msg, else msg, else the code)', () => {
    const byGateway = pay({
      code: '40002',
      msg: 'Invalid Arguments',
      sub_code: 'isv.invalid-signature',
      sub_msg: '验签出错',
    });
    assert.ok(byGateway.kind === 'refused');
    assert.deepEqual(
      [byGateway.errCode, byGateway.errMsg, byGateway.said],
      ['isv.invalid-signature', '验签出错', 'isv.invalid-signature'],
    );
    const codeOnly = pay({ code: '40006', msg: 'Insufficient Permissions' });
    assert.ok(codeOnly.kind === 'refused');
    assert.deepEqual(
      [codeOnly.errCode, codeOnly.errMsg, codeOnly.said],
      ['40006', 'Insufficient Permissions', '40006'],
    );
    const bare = pay({ code: '40006' });
    assert.ok(bare.kind === 'refused' && bare.errMsg === '40006');
    const business = pay(failed('ACQ.BUYER_BALANCE_NOT_ENOUGH', { sub_msg: '余额不足' }));
    assert.ok(business.kind === 'refused' && business.errCode === 'ACQ.BUYER_BALANCE_NOT_ENOUGH');
  });

  it('open answers keep their words: a 40004 by sub_code, a 40004 without one, another code', () => {
    assert.deepEqual(pay(failed('ACQ.SYSTEM_ERROR', { sub_msg: '系统错误' })), {
      kind: 'pending',
      errCode: 'ACQ.SYSTEM_ERROR',
      errMsg: '系统错误',
      said: 'ACQ.SYSTEM_ERROR',
    });
    assert.deepEqual(pay({ code: '40004', msg: 'Business Failed' }), {
      kind: 'pending',
      errCode: '40004',
      errMsg: 'Business Failed',
      said: '40004',
    });
    assert.deepEqual(pay({ code: '10003', msg: ' order success pay inprocess', sub_code: 'X.Y' }), {
      kind: 'pending',
      errCode: 'X.Y',
      errMsg: ' order success pay inprocess',
      said: 'X.Y',
    });
    assert.deepEqual(pay({ code: '77777' }), {
      kind: 'pending',
      errCode: '77777',
      errMsg: '77777',
      said: '77777',
    });
  });

  it('query: what it said is the trade status, or the code when there is none to read', () => {
    assert.deepEqual(query({ code: '10000', out_trade_no: expected.out_trade_no }), {
      kind: 'pending',
      said: 'NO_STATUS',
    });
    assert.deepEqual(query({ code: '40004', sub_code: 'ACQ.TRADE_NOT_EXIST' }), {
      kind: 'pending',
      said: 'ACQ.TRADE_NOT_EXIST',
    });
    assert.deepEqual(query({ code: '20000' }), { kind: 'pending', said: '20000' });
    assert.deepEqual(query({ code: '10000', trade_status: 'WAIT_BUYER_PAY' }), {
      kind: 'pending',
      said: 'WAIT_BUYER_PAY',
    });
    const closed = query({
      code: '10000',
      trade_status: 'TRADE_CLOSED',
      out_trade_no: expected.out_trade_no,
    });
    assert.ok(closed.kind === 'failed');
    assert.deepEqual(
      [closed.errCode, closed.said, closed.errMsg],
      ['TRADE_CLOSED', 'TRADE_CLOSED', 'Alipay closed the trade: never paid, or refunded in full'],
    );
    assert.equal(query({ code: '10000', trade_status: 'TRADE_CLOSED' }).said, 'MISMATCH:out_trade_no');
  });

  it('cancel: only a 10000 must name the order; a retry or a refusal may not', () => {
    assert.deepEqual(cancel({ code: '40004', sub_code: 'ACQ.SYSTEM_ERROR', retry_flag: 'Y' }), {
      kind: 'retry',
      said: 'ACQ.SYSTEM_ERROR retry_flag=Y',
    });
    assert.deepEqual(cancel({ code: '20000', retry_flag: 'N' }), {
      kind: 'unknown',
      said: '20000 retry_flag=N',
    });
    assert.equal(cancel({ code: '10000', retry_flag: 'N' }).said, 'MISMATCH:out_trade_no');
    const closed = cancel({
      code: '10000',
      out_trade_no: expected.out_trade_no,
      retry_flag: 'N',
      action: 'close',
    });
    assert.deepEqual([closed.kind, closed.said], ['reversed', '10000 action=close']);
    assert.ok(closed.kind === 'reversed' && closed.action === 'close');
    const silent = cancel({ code: '10000', out_trade_no: expected.out_trade_no });
    assert.deepEqual([silent.kind, silent.said], ['reversed', '10000']);
    assert.ok(silent.kind === 'reversed' && !('action' in silent));
  });

  it('the payment: ids, the buyer (user id or open id), amounts only where exact, how the buyer paid', () => {
    const full = pay(paidNode);
    assert.ok(full.kind === 'paid');
    assert.deepEqual(
      [full.details.out_trade_id, full.details.ch_trade_id, full.details.appid, full.details.bank_type],
      [paidNode.trade_no, paidNode.trade_no, expected.app_id, 'DEBIT_CARD'],
    );
    const openId = pay({
      ...paidNode,
      buyer_user_id: undefined,
      buyer_open_id: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5',
    });
    assert.ok(
      openId.kind === 'paid' && openId.details.openid === '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5',
    );
    const sparse = pay({
      ...paidNode,
      buyer_pay_amount: undefined,
      point_amount: '0.001',
      fund_bill_list: undefined,
    });
    assert.ok(sparse.kind === 'paid');
    assert.deepEqual(
      [
        sparse.details.buyer_pay_amount,
        sparse.details.point_amount,
        sparse.details.fund_bill_list,
        sparse.details.bank_type,
      ],
      [undefined, undefined, undefined, undefined],
    );
    const asText = pay({ ...paidNode, fund_bill_list: '[{"amount":"1.01","fund_channel":"ALIPAYACCOUNT"}]' });
    assert.ok(asText.kind === 'paid');
    assert.deepEqual(
      [asText.details.fund_bill_list, asText.details.bank_type],
      ['[{"amount":"1.01","fund_channel":"ALIPAYACCOUNT"}]', undefined],
    );
    for (const bills of [['x'], [null], [{ fund_type: 7 }], []]) {
      const odd = pay({ ...paidNode, fund_bill_list: bills });
      assert.ok(odd.kind === 'paid' && odd.details.bank_type === undefined, JSON.stringify(bills));
      assert.equal(odd.details.fund_bill_list, JSON.stringify(bills));
    }
  });
});
