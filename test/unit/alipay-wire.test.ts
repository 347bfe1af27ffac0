import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'vitest';
import { alipayProtocols } from '#core/channels/alipay/protocol.ts';
import {
  memberSpans,
  readPrivateKey,
  readPublicKey,
  rsa2Sign,
  rsa2Verify,
  signingString,
  toForm,
} from '#core/channels/alipay/wire.ts';
import type { SettlementProtocol } from '#core/channels/channel.ts';
import { fromUtc8, toUtc8 } from '#core/channels/kit/time.ts';
import { channelRegistry } from '#core/channels/registry.ts';
import { channelSettings, loadConfig } from '#core/config.ts';

describe('Alipay wire format', () => {
  it('signs every non-empty parameter but sign, sorted by name, values as they are', () => {
    const params = {
      timestamp: '2026-01-01 08:00:00',
      app_id: '2021000000000001',
      biz_content: '{"out_trade_no":"a&b=c","subject":"商品"}',
      sign: 'old',
      app_auth_token: '',
      notify_url: undefined,
      method: 'alipay.trade.pay',
    };
    assert.equal(
      signingString(params),
      'app_id=2021000000000001&biz_content={"out_trade_no":"a&b=c","subject":"商品"}&method=alipay.trade.pay&timestamp=2026-01-01 08:00:00',
    );
  });

  it('form-encodes the parameters as UTF-8, leaving out the empty ones', () => {
    const body = toForm({ a: '商 品&=', b: '', c: undefined });
    assert.equal(body, 'a=%E5%95%86+%E5%93%81%26%3D');
    assert.equal(new URLSearchParams(body).get('a'), '商 品&=');
  });

  it('signs RSA2 (SHA256withRSA, base64) so that the public half verifies, and nothing else does', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signature = rsa2Sign('a=1&b=2', privateKey);
    assert.equal(rsa2Verify('a=1&b=2', signature, publicKey), true);
    assert.equal(rsa2Verify('a=1&b=3', signature, publicKey), false);
    assert.equal(rsa2Verify('a=1&b=2', 'not base64!', publicKey), false);
  });

  it('writes and reads timestamps in Beijing time, whatever the machine zone', () => {
    assert.equal(toUtc8(0, 'dashed'), '1970-01-01 08:00:00');
    assert.equal(toUtc8(Date.parse('2026-12-31T16:30:05.999Z'), 'dashed'), '2027-01-01 00:30:05');
    assert.equal(fromUtc8('2027-01-01 00:30:05', 'dashed'), Date.parse('2026-12-31T16:30:05Z') / 1000);
    for (const bad of ['2026-02-30 10:00:00', '2026-01-01T10:00:00', '2026-01-01 10:00', '', undefined]) {
      assert.equal(fromUtc8(bad, 'dashed'), undefined, String(bad));
    }
  });

  it('finds each member of an answer as the exact text it was written in', () => {
    const text = ' { "a\\"x" : {"s":"}{\\"","n":[1,{"b":"]"}]} , "sign":"x==", "n": -1.50e2 } ';
    const spans = memberSpans(text);
    assert.ok(spans);
    const slice = (name: string) => {
      const span = spans.get(name);
      return span && text.slice(span.start, span.end);
    };
    assert.equal(slice('a"x'), '{"s":"}{\\"","n":[1,{"b":"]"}]}');
    assert.equal(slice('sign'), '"x=="');
    assert.equal(slice('n'), '-1.50e2');
  });

  it('refuses an answer that is not one object, or names a member twice', () => {
    for (const text of ['', '[]', '"x"', '{"a":1', '{"a":1}{"b":2}', '{"a":1,"a":2}']) {
      assert.equal(memberSpans(text), undefined, text);
    }
    assert.deepEqual([...(memberSpans('{}') ?? new Map()).keys()], []);
  });

  it('reads RSA keys as PKCS#8 or PKCS#1 PEM, or the bare base64 Alipay shows, and refuses others', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs8 = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const pkcs1 = String(privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const bare = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    for (const text of [pkcs8, pkcs1, bare(pkcs8), bare(pkcs1)]) {
      assert.ok(readPrivateKey(text)?.equals(privateKey));
    }
    const spki = String(publicKey.export({ type: 'spki', format: 'pem' }));
    for (const text of [spki, bare(spki)]) assert.ok(readPublicKey(text)?.equals(publicKey));
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.equal(readPrivateKey(String(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }))), undefined);
    assert.equal(readPublicKey(String(ec.publicKey.export({ type: 'spki', format: 'pem' }))), undefined);
    assert.equal(readPrivateKey('not a key'), undefined);
    assert.equal(readPublicKey(undefined), undefined);
  });
});

/**
 * The longest a settlement can run under `protocol`, every call taking its whole deadline: the queries (bounded
 * by the query window, which counts from the pay request, sent before the execution starts), the reverse floor,
 * then every reverse attempt and the waits between them.
 */
function worstCaseMs(p: SettlementProtocol): number {
  const queries = p.firstQueryDelayMs + (p.maxQueries - 1) * (p.callDeadlineMs + p.queryIntervalMs);
  const lastQueryStart = Math.min(queries, p.queryWindowMs ?? queries);
  const reverseAt = Math.max(lastQueryStart + p.callDeadlineMs, p.reverseNotBeforeMs);
  const reverses = (p.reverseRetryDelaysMs.length + 1) * p.callDeadlineMs;
  return reverseAt + reverses + p.reverseRetryDelaysMs.reduce((a, b) => a + b, 0);
}

describe('Alipay protocol tables', () => {
  for (const [name, protocol] of Object.entries(alipayProtocols)) {
    it(`${name}: the worst case fits one Express execution (5 minutes) with a minute to spare`, () => {
      assert.ok(worstCaseMs(protocol) <= 4 * 60_000, `${worstCaseMs(protocol)} ms`);
    });

    it(`${name}: cancels right after the last query (no reverse floor) and retries for about a minute`, () => {
      assert.equal(protocol.reverseNotBeforeMs, 0);
      const retrying = protocol.reverseRetryDelaysMs.reduce((a, b) => a + b, 0);
      assert.ok(retrying >= 50_000 && retrying <= 70_000, `${retrying} ms`);
    });
  }

  it('ALIPAY_PROTOCOL picks the table the channel runs (seed when not set); an unknown name fails start-up', () => {
    const base = {
      AWS_REGION: 'us-east-1',
      ORDERS_TABLE: 'o',
      WAKEUPS_TABLE: 'w',
      MERCHANTS_TABLE: 'm',
      SETTLEMENT_STATE_MACHINE_ARN: 'arn',
    };
    const alipayOf = (env: NodeJS.ProcessEnv) =>
      channelRegistry(channelSettings(loadConfig(env))).get('alipay');
    assert.equal(alipayOf(base)?.protocol, alipayProtocols.seed);
    assert.equal(alipayOf({ ...base, ALIPAY_PROTOCOL: 'guidance' })?.protocol, alipayProtocols.guidance);
    assert.throws(
      () => loadConfig({ ...base, ALIPAY_PROTOCOL: 'fast' }),
      /ALIPAY_PROTOCOL: must be one of seed, guidance/,
    );
  });

  it('seed: the first query 5 s after an open answer, 6 queries 5 s apart (seed 002, SPEC section 4)', () => {
    const { firstQueryDelayMs, queryIntervalMs, maxQueries, queryWindowMs } = alipayProtocols.seed;
    assert.deepEqual(
      [firstQueryDelayMs, queryIntervalMs, maxQueries, queryWindowMs],
      [5_000, 5_000, 6, undefined],
    );
  });

  it("guidance: polls within Alipay's 3–6 s for about 60 s", () => {
    const p = alipayProtocols.guidance;
    for (const ms of [p.firstQueryDelayMs, p.queryIntervalMs]) assert.ok(ms >= 3_000 && ms <= 6_000);
    assert.equal(p.queryWindowMs, 60_000);
    // Answered at once, every query fits the window.
    assert.ok(p.firstQueryDelayMs + (p.maxQueries - 1) * p.queryIntervalMs <= 60_000);
  });
});
