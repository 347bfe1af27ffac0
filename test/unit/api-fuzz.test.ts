import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { handleApiRequest, maxNesting, nestingDepth, type Operation } from '#core/api/gateway.ts';
import { sign } from '#core/signing.ts';
import { memoryPorts, SimChannel, testMerchant } from '../support/memory.ts';

/** Codes that mean the request was refused: such a request must not have written anything. */
const refusals = new Set([100, 101, 102, 200, 201, 202, 301, 302]);

const fields = [
  'merchant_id',
  'pay_type',
  'mch_trade_id',
  'body',
  'subject',
  'total_fee',
  'fee_type',
  'spbill_create_ip',
  'auth_code',
  'device_info',
  'attach',
  'time_start',
  'time_expire',
  'op_user_id',
  'store_id',
  'op_device_id',
  'goods_tag',
  'scene',
  'settle_type',
  'version',
  'sign_type',
  'nonce_str',
  'trade_id',
];

/** Values a POS, a buggy client or an attacker might put in a field. */
const value = fc.oneof(
  fc.constantFrom(
    null,
    '',
    0,
    -1,
    1,
    1.5,
    true,
    '0',
    ' ',
    '\u0000',
    'MD5',
    'hmac-sha256',
    `2${'9'.repeat(17)}`,
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.anything({ maxDepth: 2, maxKeys: 3 }), { maxLength: 4 }),
  fc.object({ maxDepth: 2, maxKeys: 3 }),
  fc.integer({ min: 1, max: 40 }).map((depth) => nested(depth)),
);

function nested(depth: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

const mutation = fc.record({
  field: fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 12 })),
  action: fc.constantFrom('set', 'set', 'set', 'delete'),
  value,
});

const request = fc.record({
  operation: fc.constantFrom<Operation>('micropay', 'micropay', 'query', 'reverse'),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  signType: fc.constantFrom('MD5', 'HMAC-SHA256'),
  resign: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
  // One request in eight is a raw body instead (fast-check's `option` would make it seven in eight: its `freq`
  // is the odds of the null).
  raw: fc.oneof(
    { arbitrary: fc.constant(null), weight: 7 },
    {
      arbitrary: fc.oneof(
        fc
          .integer({ min: maxNesting + 1, max: 15_000 })
          .map((n) => `{"merchant_id":"M1","x":${'['.repeat(n)}${']'.repeat(n)}}`),
        fc.json({ maxDepth: 4 }),
        fc.string({ maxLength: 60 }),
      ),
      weight: 1,
    },
  ),
});

let sequence = 0;
function validFields(operation: Operation): Record<string, unknown> {
  sequence += 1;
  if (operation !== 'micropay')
    return { merchant_id: testMerchant.merchant_id, mch_trade_id: `fuzz-${sequence % 50}` };
  return {
    merchant_id: testMerchant.merchant_id,
    pay_type: 'wechat.micro',
    mch_trade_id: `fuzz-${sequence}`,
    body: '商品',
    total_fee: 101,
    spbill_create_ip: '10.0.0.1',
    auth_code: '134567890123456700',
  };
}

describe('the API under 10,000 fuzzed requests, seven in eight mutated and re-signed', () => {
  it('never answers code 500 or anything but a JSON envelope, and a refused request writes nothing', async () => {
    const { ports, orders } = memoryPorts(new SimChannel('00'));
    const codes = new Map<number, number>();
    let mutated = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ operation, mutations, signType, resign, raw }) => {
        let body: string;
        if (raw !== null) {
          body = raw;
        } else {
          mutated += 1;
          const f: Record<string, unknown> = { ...validFields(operation), sign_type: signType };
          for (const m of mutations) {
            if (m.action === 'delete') delete f[m.field];
            else f[m.field] = m.value;
          }
          const type = signType as 'MD5' | 'HMAC-SHA256';
          f.sign = resign ? sign(f, testMerchant.secret.api_key, type) : 'A'.repeat(32);
          body = JSON.stringify(f);
        }
        const writesBefore = orders.writes;
        const envelope = await handleApiRequest(ports, operation, body);
        const json = JSON.parse(JSON.stringify(envelope)) as { code: unknown; msg: unknown };
        codes.set(envelope.code, (codes.get(envelope.code) ?? 0) + 1);
        assert.equal(typeof json.code, 'number');
        assert.notEqual(envelope.code, 500, `${envelope.msg} for ${body.slice(0, 300)}`);
        if (refusals.has(envelope.code))
          assert.equal(orders.writes, writesBefore, `code ${envelope.code} wrote`);
        if (envelope.code === 100) assert.match(String(envelope.msg), /^[\w.]+: /);
      }),
      { seed: 20261125, numRuns: 10_000 },
    );
    // The run must exercise both sides: accepted payments and each kind of refusal.
    assert.ok(mutated > 8_000, `${mutated} mutated requests`);
    for (const code of [0, 100, 101, 200])
      assert.ok((codes.get(code) ?? 0) > 5, `code ${code}: ${codes.get(code)}`);
  });
});

describe('nesting is bounded before anything recursive runs', () => {
  it('measures depth outside strings only', () => {
    assert.equal(nestingDepth('{"a":[{"b":"[[[{{{"}]}'), 3);
    assert.equal(nestingDepth('{"a":"\\"[["}'), 1);
  });

  it('stops counting once the depth passes the limit', () => {
    const deep = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
    assert.equal(nestingDepth(deep), 60_000);
    assert.equal(nestingDepth(deep, maxNesting), maxNesting + 1);
    assert.equal(nestingDepth('[[[]]]', maxNesting), 3);
  });

  it('a body nested thousands of levels deep inside the size limit gets 100', async () => {
    const { ports } = memoryPorts(new SimChannel('00'));
    const deep = `{"merchant_id":"M1","x":${'['.repeat(15_000)}${']'.repeat(15_000)}}`;
    const envelope = await handleApiRequest(ports, 'micropay', deep);
    assert.equal(envelope.code, 100);
    assert.match(String(envelope.msg), /^body: nested deeper than/);
  });
});
