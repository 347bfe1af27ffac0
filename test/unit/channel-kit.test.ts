import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'vitest';
import { digitsToInt, mismatchOf } from '#core/channels/kit/answers.ts';
import { memberSpans } from '#core/channels/kit/json.ts';
import { signingString } from '#core/channels/kit/signing.ts';
import { fromUtc8, toUtc8 } from '#core/channels/kit/time.ts';

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
