import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { merchantClient, payment, stackState, useLocalStack } from '../support/local.ts';

type Case = {
  name: string;
  path?: string;
  /** Fields to sign and send; `raw` sends a string as is. */
  fields?: Record<string, unknown>;
  raw?: string;
  unsigned?: boolean;
  merchant?: number;
  code: number;
  msg: RegExp;
};

const valid = () => payment('00');
const without = (field: string) => {
  const fields = valid();
  delete fields[field];
  return fields;
};

const cases: Case[] = [
  { name: 'malformed JSON', raw: '{"merchant_id": "M100000001",', code: 100, msg: /^body: not valid JSON/ },
  { name: 'a JSON array', raw: '[1,2]', code: 100, msg: /^body: must be a JSON object/ },
  { name: 'an empty body', raw: '', code: 100, msg: /^body: not valid JSON/ },
  {
    name: 'an oversize body',
    raw: JSON.stringify({ merchant_id: 'M100000001', pad: 'x'.repeat(40_000) }),
    code: 100,
    msg: /^body: larger than/,
  },
  {
    name: 'no merchant_id',
    raw: JSON.stringify({ ...valid(), sign: 'A' }),
    code: 100,
    msg: /^merchant_id: is required/,
  },
  {
    name: 'a numeric merchant_id',
    raw: JSON.stringify({ ...valid(), merchant_id: 7, sign: 'A' }),
    code: 100,
    msg: /^merchant_id: must be a string/,
  },
  {
    name: 'an unknown merchant',
    raw: JSON.stringify({ ...valid(), merchant_id: 'M999', sign: 'A' }),
    code: 200,
    msg: /merchant does not exist/,
  },
  { name: 'no sign', fields: valid(), unsigned: true, code: 100, msg: /^sign: is required/ },
  {
    name: 'an unsupported sign_type',
    fields: { ...valid(), sign_type: 'SHA1' },
    code: 100,
    msg: /^sign_type: must be MD5 or HMAC-SHA256/,
  },
  { name: 'a missing total_fee', fields: without('total_fee'), code: 100, msg: /^total_fee: is required/ },
  {
    name: 'total_fee as a string',
    fields: { ...valid(), total_fee: '100' },
    code: 100,
    msg: /^total_fee: must be an integer/,
  },
  {
    name: 'total_fee of 0',
    fields: { ...valid(), total_fee: 0 },
    code: 100,
    msg: /^total_fee: must be greater than 0/,
  },
  {
    name: 'a fractional total_fee',
    fields: { ...valid(), total_fee: 1.5 },
    code: 100,
    msg: /^total_fee: must be an integer/,
  },
  {
    name: 'a negative total_fee',
    fields: { ...valid(), total_fee: -1 },
    code: 100,
    msg: /^total_fee: must be greater than 0/,
  },
  {
    name: 'a short mch_trade_id',
    fields: { ...valid(), mch_trade_id: 'abc' },
    code: 100,
    msg: /^mch_trade_id: must be 5-32/,
  },
  {
    name: 'a mch_trade_id with spaces',
    fields: { ...valid(), mch_trade_id: 'order 12345' },
    code: 100,
    msg: /^mch_trade_id:/,
  },
  {
    name: 'a missing mch_trade_id',
    fields: without('mch_trade_id'),
    code: 100,
    msg: /^mch_trade_id: is required/,
  },
  {
    name: 'an unknown pay_type',
    fields: { ...valid(), pay_type: 'unionpay.micro' },
    code: 100,
    msg: /^pay_type: must be one of/,
  },
  {
    name: 'a WeChat code starting 16',
    fields: { ...valid(), auth_code: '164567890123456700' },
    code: 100,
    msg: /^auth_code: does not fit wechat.micro/,
  },
  {
    name: 'a 17-digit WeChat code',
    fields: { ...valid(), auth_code: '13456789012345670' },
    code: 100,
    msg: /^auth_code: does not fit wechat.micro/,
  },
  {
    name: 'an Alipay code under wechat.micro',
    fields: { ...valid(), auth_code: '286789012345678900' },
    code: 100,
    msg: /^auth_code: does not fit/,
  },
  ...(
    [
      ['a WeChat code under alipay.micro', '134567890123456700'],
      ['a 15-digit Alipay code', '286789012345600'],
      ['a 25-digit Alipay code', '2867890123456789012345600'],
      ['an Alipay code starting 24', '246789012345678900'],
      ['an Alipay code starting 31', '316789012345678900'],
    ] as const
  ).map(
    ([name, auth_code]): Case => ({
      name,
      fields: { ...valid(), pay_type: 'alipay.micro', auth_code },
      code: 100,
      msg: /^auth_code: does not fit alipay.micro: an Alipay payment code is 16-24 digits starting 25-30/,
    }),
  ),
  {
    name: 'auth_code as a number',
    fields: { ...valid(), auth_code: 134567890 },
    code: 100,
    msg: /^auth_code: must be a string/,
  },
  { name: 'a missing auth_code', fields: without('auth_code'), code: 100, msg: /^auth_code: is required/ },
  {
    name: 'time_start in milliseconds',
    fields: { ...valid(), time_start: 1_700_000_000_000 },
    code: 100,
    msg: /^time_start: looks like epoch milliseconds/,
  },
  {
    name: 'time_expire before time_start',
    fields: { ...valid(), time_start: 1_700_000_100, time_expire: 1_700_000_000 },
    code: 100,
    msg: /^time_expire: must be later/,
  },
  {
    name: 'a spbill_create_ip that is no address',
    fields: { ...valid(), spbill_create_ip: 'till-7' },
    code: 100,
    msg: /^spbill_create_ip: must be an IPv4 or IPv6/,
  },
  { name: 'a missing body', fields: without('body'), code: 100, msg: /^body: is required/ },
  { name: 'a body sent as ""', fields: { ...valid(), body: '' }, code: 100, msg: /^body: is required/ },
  {
    name: 'a body of 43 Chinese characters (129 bytes of UTF-8)',
    fields: { ...valid(), body: '商'.repeat(43) },
    code: 100,
    msg: /^body: must be at most 128 bytes of UTF-8/,
  },
  {
    name: 'an attach of 128 bytes',
    fields: { ...valid(), attach: `${'a'.repeat(125)}商` },
    code: 100,
    msg: /^attach: must be at most 127 bytes of UTF-8/,
  },
  {
    name: 'a body with a control character (WeChat reads XML, which cannot carry it)',
    fields: { ...valid(), body: 'Bench\u0001' },
    code: 100,
    msg: /^body: must not contain control characters or unpaired surrogates/,
  },
  {
    name: 'an attach with an unpaired surrogate',
    fields: { ...valid(), attach: 'a\uD800' },
    code: 100,
    msg: /^attach: must not contain control characters or unpaired surrogates/,
  },
  {
    name: 'a body nested thousands of levels deep',
    raw: `{"merchant_id":"M100000001","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    code: 100,
    msg: /^body: nested deeper than 16 levels/,
  },
  { name: 'a disabled merchant', fields: valid(), merchant: 1, code: 201, msg: /status is 3/ },
  {
    name: 'a pay type the merchant lacks (M100000003 is WeChat-only)',
    fields: { ...valid(), pay_type: 'alipay.micro', auth_code: '286789012345678900' },
    merchant: 2,
    code: 202,
    msg: /^pay_type: merchant is not enabled for alipay.micro/,
  },
  {
    name: 'a query without ids',
    path: '/v1/query',
    fields: {},
    code: 100,
    msg: /^trade_id: trade_id or mch_trade_id is required/,
  },
  {
    name: 'a malformed trade_id',
    path: '/v1/query',
    fields: { trade_id: 'XYZ' },
    code: 100,
    msg: /^trade_id: must be 24 lower-case hex/,
  },
  {
    name: 'a query for an unknown order',
    path: '/v1/query',
    fields: { mch_trade_id: 'never-seen' },
    code: 301,
    msg: /order does not exist/,
  },
  {
    name: 'a reverse of an unknown order',
    path: '/v1/reverse',
    fields: { trade_id: '0'.repeat(24) },
    code: 301,
    msg: /order does not exist/,
  },
];

describe('bad input gets its SPEC code, names the field, and changes nothing', () => {
  const stack = useLocalStack();

  for (const c of cases) {
    it(`${c.name} → ${c.code}`, async () => {
      const client = merchantClient(stack(), c.merchant ?? 0);
      const before = await stackState(stack());
      let answer: Awaited<ReturnType<typeof client.post>>;
      if (c.raw !== undefined) {
        answer = await client.post(c.path ?? '/v1/micropay', c.raw, true);
      } else {
        const fields = c.fields ?? {};
        const body = c.unsigned ? { merchant_id: 'M100000001', ...fields } : client.signed(fields);
        if (c.unsigned) delete body.sign;
        answer = await client.post(c.path ?? '/v1/micropay', body);
      }
      assert.equal(answer.status, 200);
      assert.equal(answer.envelope.code, c.code);
      assert.match(String(answer.envelope.msg), c.msg);
      assert.equal(answer.envelope.data, undefined);
      // Nothing changed: no order, no wake-up, no settlement started.
      assert.deepEqual(await stackState(stack()), before);
    });
  }

  it('reads optional fields sent as null or "" as not given, as the signature does', async () => {
    const client = merchantClient(stack());
    const answer = await client.micropay({
      ...valid(),
      device_info: null,
      attach: '',
      goods_tag: null,
      time_start: '',
      body: '商'.repeat(42),
    });
    assert.equal(answer.envelope.code, 0, String(answer.envelope.msg));
    assert.equal(answer.envelope.data?.trade_state, 0);
    assert.equal(answer.envelope.data?.device_info, undefined);
  });

  for (const auth_code of ['2567890123456700', '305678901234567890123400']) {
    it(`alipay.micro takes a ${auth_code.length}-digit code starting ${auth_code.slice(0, 2)}`, async () => {
      const answer = await merchantClient(stack()).micropay({
        ...valid(),
        pay_type: 'alipay.micro',
        auth_code,
      });
      assert.equal(answer.envelope.code, 0, String(answer.envelope.msg));
      assert.equal(answer.envelope.data?.trade_state, 0);
    });
  }

  it('a tampered request fails the signature check → 101', async () => {
    const client = merchantClient(stack());
    const body = client.signed(valid());
    const answer = await client.post('/v1/micropay', { ...body, total_fee: 1 });
    assert.equal(answer.envelope.code, 101);
    assert.match(String(answer.envelope.msg), /^sign:/);
    assert.equal(answer.signatureValid, true);
  });

  it('answers for an unknown merchant are unsigned; answers for a known one are signed', async () => {
    const client = merchantClient(stack());
    const unknown = await client.post('/v1/query', {
      merchant_id: 'M404',
      trade_id: '0'.repeat(24),
      sign: 'A',
    });
    assert.equal(unknown.envelope.code, 200);
    assert.equal(unknown.envelope.sign, undefined);
    const known = await client.post('/v1/query', client.signed({}));
    assert.equal(known.envelope.code, 100);
    assert.equal(known.signatureValid, true);
  });

  it('other methods and paths get 404, never a 5xx', async () => {
    for (const [method, path] of [
      ['GET', '/v1/micropay'],
      ['POST', '/v2/micropay'],
      ['PUT', '/v1/query'],
    ] as const) {
      const response = await fetch(`${stack().apiUrl}${path}`, { method });
      await response.text();
      assert.equal(response.status, 404);
    }
  });

  it('serves its OpenAPI document at GET /openapi.json', async () => {
    const response = await fetch(`${stack().apiUrl}/openapi.json`);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(Object.keys(document.paths).sort(), [
      '/v1/micropay',
      '/v1/query',
      '/v1/refund',
      '/v1/refund/query',
      '/v1/reverse',
    ]);
  });
});
