import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { handleApiRequest, maxNesting, nestingDepth, type Operation } from '#core/api/handler.ts';
import type { Merchant } from '#core/merchants.ts';
import { toState } from '#core/orders/changes.ts';
import type { Ports } from '#core/ports.ts';
import { sign } from '#core/signing.ts';
import { memoryPorts, SimChannel, testMerchant } from '../support/memory.ts';

/** Codes that mean the request was refused: such a request must not have written anything. */
const refusals = new Set([100, 101, 102, 103, 200, 201, 202, 301, 302]);

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
  'out_refund_no',
  'refund_fee',
  'refund_desc',
  'refund_id',
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

/** One change to a valid request: a field set to a fuzzed value, or deleted. */
const mutation = fc.record({
  field: fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 12 })),
  action: fc.constantFrom('set', 'set', 'set', 'delete'),
  value,
});

/** Changes that keep a request valid but name another merchant, pay type or order: 200, 201, 202, 301. */
const retarget = fc.constantFrom<Record<string, unknown>>(
  { merchant_id: 'M2' },
  { merchant_id: 'M9' },
  { pay_type: 'alipay.micro', auth_code: '284567890123456700' },
  { mch_trade_id: 'fuzz-none-1' },
);

const request = fc.record({
  operation: fc.constantFrom<Operation>(
    'micropay',
    'micropay',
    'query',
    'reverse',
    'refund',
    'refund',
    'refund_query',
  ),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  signType: fc.constantFrom('MD5', 'HMAC-SHA256'),
  resign: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
  reuse: fc.nat(),
  target: fc.option(retarget, { freq: 8 }),
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

/** A merchant whose status is not active (201), and one more for the mutations to name. */
const disabledMerchant: Merchant = { ...testMerchant, merchant_id: 'M2', status: 3 };

/**
 * Orders already there before the run, by `mch_trade_id`: a paid one, one the channel refused (failed) and one
 * closed, so that queries, reverses and repeated submissions meet every state that decides a code (0, 102, 302),
 * and ids nobody used (301).
 */
const existing = ['fuzz-paid', 'fuzz-failed', 'fuzz-closed'] as const;
const unused = ['fuzz-none-1', 'fuzz-none-2'];

let sequence = 0;
function validFields(operation: Operation, reuse: number): Record<string, unknown> {
  sequence += 1;
  const merchant_id = testMerchant.merchant_id;
  const known = [...existing, ...unused];
  if (operation === 'refund') {
    // Small refunds of the paid order until it is used up (then 103), numbers reused now and then (replay or 102).
    return {
      merchant_id,
      mch_trade_id: known[reuse % 7 === 0 ? reuse % known.length : 0],
      out_refund_no: reuse % 5 === 0 ? `fuzz-rf-${reuse % 3}` : `fuzz-rf-${sequence}`,
      refund_fee: 1 + (reuse % 30),
    };
  }
  if (operation === 'refund_query') {
    return reuse % 2 === 0
      ? { merchant_id, out_refund_no: `fuzz-rf-${reuse % 3}` }
      : { merchant_id, mch_trade_id: known[reuse % known.length] };
  }
  if (operation !== 'micropay') return { merchant_id, mch_trade_id: known[reuse % known.length] };
  return {
    merchant_id,
    pay_type: 'wechat.micro',
    // One submission in four names an order that exists: a replay with its parameters, or 102 with others.
    mch_trade_id: reuse % 4 === 0 ? existing[reuse % existing.length] : `fuzz-${sequence}`,
    body: '商品',
    total_fee: 101,
    spbill_create_ip: '10.0.0.1',
    auth_code: '134567890123456700',
  };
}

/**
 * What a request changed: every order, wake-up and watermark item it wrote, compared with what the item was before
 * (a write undone, such as a creation's wake-up taken back, is no change), the channel calls and the settlement
 * starts. Only the items written are compared, so the check costs nothing as the tables grow.
 */
async function changesOf(run: ReturnType<typeof fuzzPorts>, request: () => Promise<unknown>) {
  const memory = run.orders.memory;
  const calls = run.channel.calls.length;
  const started = run.workflow.started.size;
  const journal = memory.journal();
  await request();
  const changed = journal.changed();
  if (run.channel.calls.length !== calls) changed.push(`channel calls: ${run.channel.calls.slice(calls)}`);
  if (run.workflow.started.size !== started) changed.push('a settlement was started');
  return changed;
}

function fuzzPorts() {
  const channel = new SimChannel('00');
  const memory = memoryPorts(channel);
  const merchants = [testMerchant, disabledMerchant];
  const ports: Ports = {
    ...memory.ports,
    merchants: { get: async (id) => merchants.find((m) => m.merchant_id === id) },
  };
  return { ...memory, ports, channel };
}

/** Submits the existing orders before the run: paid, then one refused and one closed by hand. */
async function seed(run: ReturnType<typeof fuzzPorts>) {
  for (const id of existing) {
    const fields: Record<string, unknown> = {
      merchant_id: testMerchant.merchant_id,
      pay_type: 'wechat.micro',
      mch_trade_id: id,
      body: '商品',
      total_fee: 101,
      spbill_create_ip: '10.0.0.1',
      auth_code: '134567890123456700',
    };
    fields.sign = sign(fields, testMerchant.secret.api_key, 'MD5');
    run.channel.outcome = id === 'fuzz-failed' ? '03' : '00';
    await handleApiRequest(run.ports, 'micropay', JSON.stringify(fields));
  }
  run.channel.outcome = '00';
  const closed = await run.orders.get({ merchant_id: testMerchant.merchant_id, mch_trade_id: 'fuzz-closed' });
  assert.ok(closed);
  await run.orders.update(closed, { ...toState('CLOSED'), paid_at: undefined });
}

describe('the API under 10,000 fuzzed requests, seven in eight mutated and re-signed', () => {
  it('never answers code 500 or anything but a JSON envelope, and a refused request changes nothing at all', async () => {
    const run = fuzzPorts();
    await seed(run);
    const codes = new Map<number, number>();
    let mutated = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ operation, mutations, signType, resign, raw, reuse, target }) => {
        let body: string;
        if (raw !== null) {
          body = raw;
        } else {
          mutated += 1;
          const f: Record<string, unknown> = { ...validFields(operation, reuse), sign_type: signType };
          Object.assign(f, target);
          for (const m of mutations) {
            if (m.action === 'delete') delete f[m.field];
            else f[m.field] = m.value;
          }
          const type = signType as 'MD5' | 'HMAC-SHA256';
          f.sign = resign ? sign(f, testMerchant.secret.api_key, type) : 'A'.repeat(32);
          body = JSON.stringify(f);
        }
        let envelope = undefined as unknown as Awaited<ReturnType<typeof handleApiRequest>>;
        const changed = await changesOf(run, async () => {
          envelope = await handleApiRequest(run.ports, operation, body);
        });
        const json = JSON.parse(JSON.stringify(envelope)) as { code: unknown; msg: unknown };
        codes.set(envelope.code, (codes.get(envelope.code) ?? 0) + 1);
        assert.equal(typeof json.code, 'number');
        assert.notEqual(envelope.code, 500, `${envelope.msg} for ${body.slice(0, 300)}`);
        if (refusals.has(envelope.code))
          assert.deepEqual(changed, [], `code ${envelope.code} changed something`);
        if (envelope.code === 100) assert.match(String(envelope.msg), /^[\w.]+: /);
      }),
      { seed: 20261125, numRuns: 10_000 },
    );
    // The run must exercise both sides: accepted payments and every refusal code of the SPEC's table.
    assert.ok(mutated > 8_000, `${mutated} mutated requests`);
    for (const code of [0, ...refusals])
      assert.ok(
        (codes.get(code) ?? 0) >= 3,
        `code ${code}: ${codes.get(code)} (${JSON.stringify([...codes])})`,
      );
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
