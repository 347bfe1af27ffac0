import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'vitest';
import { payErrorClass as fshowsPayErrorClass } from '#core/channels/fshows/protocol.ts';
import {
  answerVerifier,
  digitsToInt,
  mismatchOf,
  moneyMoved,
  payErrorResult,
  queryResultOf,
} from '#core/channels/kit/answers.ts';
import { type CallFields, channelClient } from '#core/channels/kit/client.ts';
import { answerReader } from '#core/channels/kit/http.ts';
import { exactJsonObject, memberSpans } from '#core/channels/kit/json.ts';
import {
  micropayErrCodeClass,
  micropayQueryResult,
  micropaySettlement,
  micropayTradeStateClass,
} from '#core/channels/kit/micropay.ts';
import { signingString } from '#core/channels/kit/signing.ts';
import { fromUtc8, toUtc8 } from '#core/channels/kit/time.ts';
import { payErrorClass as wechatPayErrorClass } from '#core/channels/wechat/protocol.ts';

describe('the channel kit: what every channel reads the same way', () => {
  const ours = { out_trade_no: 'T1', total_fee: '101', mch_id: undefined };

  it('an answer is about our request when what it states is ours and it states what it must', () => {
    assert.equal(mismatchOf({ out_trade_no: 'T1', total_fee: '101' }, ours, ['out_trade_no']), undefined);
    assert.equal(mismatchOf({ out_trade_no: 'T1' }, ours, ['out_trade_no']), undefined);
    assert.equal(mismatchOf({ out_trade_no: 'T1', mch_id: 'anyone' }, ours, []), undefined);
  });

  it('names the first field that is missing, then the first that is not ours', () => {
    assert.equal(mismatchOf({ total_fee: '101' }, ours, ['out_trade_no']), 'MISMATCH:out_trade_no');
    assert.equal(mismatchOf({ out_trade_no: 'T2' }, ours, []), 'MISMATCH:out_trade_no');
    assert.equal(mismatchOf({ out_trade_no: 'T1', total_fee: '100' }, ours, []), 'MISMATCH:total_fee');
    assert.equal(mismatchOf({ total_fee: '100' }, ours, ['out_trade_no']), 'MISMATCH:out_trade_no');
  });

  it('an empty value states nothing: no mismatch, and no required field', () => {
    assert.equal(mismatchOf({ out_trade_no: 'T1', total_fee: '' }, ours, []), undefined);
    assert.equal(mismatchOf({ out_trade_no: '' }, ours, ['out_trade_no']), 'MISMATCH:out_trade_no');
  });

  it('reads whole numbers written as digits only', () => {
    assert.deepEqual(
      ['0', '89', '123456789012345', '1234567890123456', '1.5', '-3', ' 8', '8 ', '', 'x', undefined].map(
        digitsToInt,
      ),
      [
        0,
        89,
        123456789012345,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ],
    );
  });
});

describe('the string every channel signs (kit/signing.ts), against each channel’s published example', () => {
  it('WeChat Pay v2 (SPEC section 2): MD5 of it and &key= is the published signature', () => {
    const example = {
      appid: 'wxd930ea5d5a258f4f',
      mch_id: '10000100',
      device_info: '1000',
      body: 'test',
      nonce_str: 'ibuaiVcKdpRxkhJA',
    };
    const text = signingString(example);
    assert.equal(
      text,
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA',
    );
    const md5 = createHash('md5').update(`${text}&key=192006250b4c09247ec02edce69f6a2d`).digest('hex');
    assert.equal(md5.toUpperCase(), '9A0A8659F005D6984697E2CA0A9CF3B7');
  });

  it('BlueOcean (its API document, 签名规则): the published example and signature', () => {
    const params = { appid: '1000010', name: 'BlueOcean Pay', region: 'HK', business: 'Online payment' };
    const text = signingString(params, { without: ['key'], keepEmpty: true });
    assert.equal(text, 'appid=1000010&business=Online payment&name=BlueOcean Pay&region=HK');
    const md5 = createHash('md5').update(`${text}&key=sxkj0RH9qMxdaxo0sJ8xlbki4ssOjvXb`).digest('hex');
    assert.equal(md5.toUpperCase(), '08C612FB4D2D52C8C913EA00E3DABC8B');
    // BlueOcean's reference code keeps empty values; the WeChat rule leaves them out.
    assert.equal(signingString({ a: '1', b: '' }, { keepEmpty: true }), 'a=1&b=');
    assert.equal(signingString({ a: '1', b: '', key: 'k' }, { without: ['key'] }), 'a=1');
  });

  it('Alipay (自行实现签名, its 待签名字符串 example): sorted, not URL-encoded, sign left out', () => {
    const bizContent =
      '{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}';
    const request = {
      app_id: '2014072300007148',
      method: 'alipay.mobile.public.menu.add',
      charset: 'GBK',
      sign_type: 'RSA2',
      timestamp: '2014-07-24 03:07:50',
      biz_content: bizContent,
      sign: 'e9zEAe4TTQ4LPLQvETPoLGXTiURcxiAKfMVQ6Hrrsx2hmyIEGvSfAQzbLxHrhyZ48wOJXTsD4FPnt+YGdK57+fP1BCbf9rIVycfjhYCqlFhbTu9pFnZgT55W+xbAFb9y7vL0MyAxwXUXvZtQVqEwW7pURtKilbcBTEW7TAxzgro=',
      version: '1.0',
    };
    assert.equal(
      signingString(request),
      `app_id=2014072300007148&biz_content=${bizContent}&charset=GBK&method=alipay.mobile.public.menu.add&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0`,
    );
  });

  it('fshows (seed 003’s request example): app_id, content, method and version, sorted', () => {
    const content =
      '{"body":"QQ公仔","total_fee":"0.01","spbill_create_ip":"120.0.0.1","auth_code":"134537237814335750","store_id":"20170720205421027980","out_trade_no":"CQL201709060953120179985","notify_url":"http://cc.ngrok.cc/test"}';
    const request = {
      method: 'fshows.liquidation.wx.trade.pay',
      app_id: '2016072300007148',
      version: '1.0',
      content,
    };
    assert.equal(
      signingString(request),
      `app_id=2016072300007148&content=${content}&method=fshows.liquidation.wx.trade.pay&version=1.0`,
    );
  });

  it('writes values through the rule’s writer (the API writes objects as key-sorted JSON)', () => {
    assert.equal(signingString({ b: 2, a: { y: 1 } }, { write: (v) => JSON.stringify(v) }), 'a={"y":1}&b=2');
    assert.equal(signingString({ a: null, b: undefined, c: 0, sign: 'x' }), 'c=0');
    assert.equal(signingString({ a: null, c: 0 }, { keepEmpty: true }), 'a=null&c=0');
  });
});

describe('one JSON span scanner for every channel (kit/json.ts)', () => {
  it('gives each top-level member the exact text it was sent in', () => {
    const text = '{ "a" : "x\\"y" , "b":{"c":[1, {"d":2}]},"e":-1.50e3,"f":null,"g":true }';
    const spans = memberSpans(text);
    assert.ok(spans);
    const raw = Object.fromEntries(
      [...spans].map(([name, span]) => [name, text.slice(span.start, span.end)]),
    );
    assert.deepEqual(raw, { a: '"x\\"y"', b: '{"c":[1, {"d":2}]}', e: '-1.50e3', f: 'null', g: 'true' });
    assert.deepEqual([...(memberSpans('{}') ?? [])], []);
  });

  it('refuses what is not one object, and a name repeated in any object at any depth', () => {
    for (const text of [
      '[1]',
      '"x"',
      '{',
      '{"a":1}{',
      '{"a":1,"a":2}',
      '{"a":{"b":1,"b":2}}',
      '{"a":[{"c":1,"c":1}]}',
    ]) {
      assert.equal(memberSpans(text), undefined, text);
    }
    assert.ok(memberSpans('{"a":{"b":1},"c":{"b":2},"d":[{"b":1},{"b":2}]}'));
  });

  it('scans nesting as deep as 64 KiB allows without running out of stack', () => {
    const deep = `{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    assert.equal(memberSpans(deep)?.get('a')?.end, deep.length - 1);
  });
});

describe('UTC+8, as every channel writes its times (kit/time.ts)', () => {
  it('writes and reads both forms, exactly', () => {
    const ms = Date.parse('2026-12-31T16:30:05Z');
    assert.equal(toUtc8(ms, 'compact'), '20270101003005');
    assert.equal(toUtc8(ms, 'dashed'), '2027-01-01 00:30:05');
    assert.equal(fromUtc8('20270101003005', 'compact'), ms / 1000);
    assert.equal(fromUtc8('2027-01-01 00:30:05', 'dashed'), ms / 1000);
  });

  it('refuses another form, a date that does not exist, and nothing', () => {
    for (const [text, form] of [
      ['2027-01-01 00:30:05', 'compact'],
      ['20270101003005', 'dashed'],
      ['20260230120000', 'compact'],
      ['2026-02-30 12:00:00', 'dashed'],
      ['2026-01-01 24:00:00', 'dashed'],
      ['2026-01-01T00:00:00', 'dashed'],
      [undefined, 'compact'],
    ] as const) {
      assert.equal(fromUtc8(text, form), undefined, `${text} ${form}`);
    }
  });
});

describe('what every channel reads alike (kit/answers.ts, kit/http.ts, kit/client.ts, kit/micropay.ts)', () => {
  type Answer = { readonly signed: boolean; readonly fields?: Record<string, string> };
  const verify = answerVerifier<Answer, { readonly out_trade_no: string }, 'out_trade_no' | 'total_fee'>({
    authenticity: (a) => (a.signed ? 'signature' : { unproven: 'UNSIGNED' }),
    about: (a, expected) =>
      a.fields && { stated: a.fields, ours: { out_trade_no: expected.out_trade_no }, always: ['mch_id'] },
  });
  const expected = { out_trade_no: 'T1' };

  it('a verifier proves authenticity first, then the rule’s own fields, then the call’s', () => {
    assert.deepEqual(verify({ signed: false, fields: {} }, expected), { ok: false, reason: 'UNSIGNED' });
    const missing = verify({ signed: true, fields: { out_trade_no: 'T1' } }, expected, ['total_fee']);
    assert.deepEqual(missing, { ok: false, reason: 'MISMATCH:mch_id' });
    const notOurs = verify({ signed: true, fields: { mch_id: 'M', out_trade_no: 'T2' } }, expected);
    assert.deepEqual(notOurs, { ok: false, reason: 'MISMATCH:out_trade_no' });
    const ok = verify({ signed: true, fields: { mch_id: 'M', out_trade_no: 'T1' } }, expected, [
      'out_trade_no',
    ]);
    assert.ok(ok.ok && ok.verified.basis === 'signature');
    // An answer that names no request has nothing to mismatch.
    assert.ok(verify({ signed: true }, expected, ['out_trade_no']).ok);
  });

  it('a pay error is pending without proof; refused only proven', () => {
    const table = { BUSY: 'pending', NO: 'refused' } as const;
    let asked = 0;
    const proven = () => {
      asked += 1;
      return verify({ signed: true, fields: { mch_id: 'M' } }, expected);
    };
    assert.deepEqual(payErrorResult('BUSY', 'busy', table, proven), {
      kind: 'pending',
      errCode: 'BUSY',
      errMsg: 'busy',
      said: 'BUSY',
    });
    assert.equal(payErrorResult('NEW', 'new', table, proven).kind, 'pending');
    assert.equal(asked, 0);
    const refused = payErrorResult('NO', 'no', table, proven);
    assert.ok(refused.kind === 'refused' && refused.errCode === 'NO' && refused.proof.basis === 'signature');
    const unproven = payErrorResult('NO', 'no', table, () => verify({ signed: false }, expected));
    assert.deepEqual(unproven, { kind: 'unknown', said: 'UNSIGNED' });
  });

  it('a query’s trade state: open states decide nothing, final ones only proven', () => {
    const answer = { details: () => ({ ch_trade_id: 'C1' }), description: 'closed' };
    const classes: string[] = [];
    const proven = (stateClass: string) => {
      classes.push(stateClass);
      return verify({ signed: true, fields: { mch_id: 'M' } }, expected);
    };
    assert.deepEqual(queryResultOf('NOTPAY', micropayTradeStateClass, proven, answer), {
      kind: 'pending',
      said: 'NOTPAY',
    });
    assert.deepEqual(queryResultOf('NEW', micropayTradeStateClass, proven, answer), {
      kind: 'pending',
      said: 'NEW',
    });
    const paid = queryResultOf('REFUND', micropayTradeStateClass, proven, answer);
    assert.ok(paid.kind === 'paid' && paid.refunded && paid.details.ch_trade_id === 'C1');
    assert.equal(queryResultOf('CLOSED', micropayTradeStateClass, proven, answer).kind, 'closed');
    assert.deepEqual(classes, ['refunded', 'closed']);
    assert.deepEqual([moneyMoved('paid'), moneyMoved('refunded'), moneyMoved('closed')], [true, true, false]);
  });

  it('a relayed trade_state record: none is malformed, the amount required where the money moved', () => {
    const asked: (readonly string[])[] = [];
    const proven = (required: readonly string[]) => {
      asked.push(required);
      return verify({ signed: true, fields: { mch_id: 'M' } }, expected);
    };
    assert.deepEqual(
      micropayQueryResult(undefined, proven, () => ({})),
      { kind: 'unknown', said: 'MALFORMED' },
    );
    assert.deepEqual(
      micropayQueryResult({}, proven, () => ({})),
      { kind: 'pending', said: 'UNKNOWN' },
    );
    micropayQueryResult({ trade_state: 'SUCCESS' }, proven, () => ({}));
    const failed = micropayQueryResult({ trade_state: 'PAYERROR' }, proven, () => ({}));
    assert.ok(failed.kind === 'failed' && failed.errMsg === 'PAYERROR');
    assert.deepEqual(asked, [['out_trade_no', 'total_fee'], ['out_trade_no']]);
  });

  it('reads an answer only when there is one that parses', () => {
    const read = answerReader((text) => (text.startsWith('{') ? text : undefined));
    const then = (answer: string) => ({ kind: 'read', answer }) as const;
    assert.deepEqual(read({ kind: 'none', said: 'TIMEOUT' }, then), { kind: 'unknown', said: 'TIMEOUT' });
    assert.deepEqual(read({ kind: 'answer', text: 'x' }, then), { kind: 'unknown', said: 'MALFORMED' });
    assert.deepEqual(read({ kind: 'answer', text: '{}' }, then), { kind: 'read', answer: '{}' });
  });

  it('parses an exact JSON object, within its size, and nothing else', () => {
    assert.deepEqual(exactJsonObject('{"a":0.10,"b":{"c":1}}', 64), { a: '0.10', b: { c: '1' } });
    for (const text of ['[1]', 'null', '"x"', '{', ''])
      assert.equal(exactJsonObject(text, 64), undefined, text);
    assert.equal(exactJsonObject(`{"a":"${'x'.repeat(60)}"}`, 64), undefined);
  });

  it('a client sends pay’s fields and the order number for query and reverse, each to its target', async () => {
    const sent: [string, string, CallFields][] = [];
    const channel = channelClient({
      name: 'test',
      protocol: micropaySettlement,
      call: async (ctx, target: string, _deadlineMs, fields) => {
        sent.push([ctx.account.shop ?? '', target, fields]);
        return { kind: 'none', said: target };
      },
      targets: (ctx) => ({ pay: `/${ctx.account.shop}/pay`, query: '/query', reverse: '/reverse' }),
      payFields: (_ctx, command) => ({ out_trade_no: command.out_trade_no, code: command.auth_code }),
      expectation: (_ctx, order) => order.total_fee,
      read: {
        pay: (outcome, fee) => ({
          kind: 'unknown',
          said: `${outcome.kind === 'none' && outcome.said} ${fee}`,
        }),
        query: (_outcome, fee) => ({ kind: 'unknown', said: `query ${fee}` }),
        reverse: (_outcome, fee) => ({ kind: 'unknown', said: `reverse ${fee}` }),
      },
    });
    const ctx = { account: { shop: 'S1' }, credentials: {} };
    const order = { out_trade_no: 'T1', total_fee: 101 };
    const command = { ...order, auth_code: '134', body: 'b', spbill_create_ip: '1.2.3.4' };
    assert.deepEqual(await channel.pay(ctx, command, 1000), { kind: 'unknown', said: '/S1/pay 101' });
    assert.deepEqual(await channel.query(ctx, order, 1000), { kind: 'unknown', said: 'query 101' });
    assert.deepEqual(await channel.reverse(ctx, order, 1000), { kind: 'unknown', said: 'reverse 101' });
    assert.deepEqual(sent, [
      ['S1', '/S1/pay', { out_trade_no: 'T1', code: '134' }],
      ['S1', '/query', { out_trade_no: 'T1' }],
      ['S1', '/reverse', { out_trade_no: 'T1' }],
    ]);
    assert.equal(channel.name, 'test');
  });

  it('the err_codes a channel relays read as where they come from; a direct request’s own stay its own', () => {
    for (const [code, reading] of Object.entries(micropayErrCodeClass)) {
      assert.equal(wechatPayErrorClass[code], reading, code);
      assert.equal(fshowsPayErrorClass[code], reading, code);
    }
    assert.equal(wechatPayErrorClass.SIGNERROR, 'refused');
    assert.equal(fshowsPayErrorClass.SIGNERROR, undefined);
    assert.equal(fshowsPayErrorClass['-100'], 'refused');
  });
});
