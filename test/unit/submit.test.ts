import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { MicropayRequest } from '#core/api/requests.ts';
import type { Channel, PayCommand, PayResult } from '#core/channels/channel.ts';
import { verifyAnswer } from '#core/channels/verified.ts';
import { wechatProtocol } from '#core/channels/wechat/protocol.ts';
import type { ApiError } from '#core/errors.ts';
import type { Merchant } from '#core/merchants.ts';
import type { Order } from '#core/orders/order.ts';
import { submitPayment } from '#core/payments/submit.ts';
import { MemoryOrderStore, memoryPorts, SimChannel, testMerchant } from '../support/memory.ts';

const request = (id: string): MicropayRequest => ({
  merchant_id: testMerchant.merchant_id,
  pay_type: 'wechat.micro',
  mch_trade_id: id,
  body: 'goods',
  total_fee: 101,
  spbill_create_ip: '10.0.0.1',
  auth_code: '134567890123456700',
  sign: 'x',
});

/** A store whose create writes the order, then answers as a retried write does: "it is already there". */
class LostAnswerStore extends MemoryOrderStore {
  override async create(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    await super.create(order);
    return { created: false, existing: order };
  }
}

describe('submitting a payment', () => {
  it('goes on to pay when the order it finds is its own write (the first answer to the put was lost)', async () => {
    const channel = new SimChannel('00');
    const { ports } = memoryPorts(channel);
    const orders = new LostAnswerStore();
    const outcome = await submitPayment({ ...ports, orders }, testMerchant, request('lost-answer'));
    assert.deepEqual(channel.calls, ['pay']);
    assert.equal(outcome.order.state, 'PAID');
  });

  it('does not pay again for an order another submit wrote', async () => {
    const channel = new SimChannel('00');
    const { ports } = memoryPorts(channel);
    const first = await submitPayment(ports, testMerchant, request('twice'));
    const second = await submitPayment(ports, testMerchant, request('twice'));
    assert.deepEqual(channel.calls, ['pay']);
    assert.equal(second.order.trade_id, first.order.trade_id);
    assert.equal(second.order.state, 'PAID');
  });
});

/** A channel whose pay answers `result` (or throws), recording what it was given. */
function scripted(result: PayResult | Error, onPay?: () => Promise<void>) {
  const given: { credentials?: unknown; command?: PayCommand; deadlineMs?: number }[] = [];
  const channel: Channel = {
    name: 'wechat',
    protocol: wechatProtocol,
    pay: async (ctx, command, deadlineMs) => {
      given.push({ credentials: ctx.credentials, command, deadlineMs });
      await onPay?.();
      if (result instanceof Error) throw result;
      return result;
    },
    query: async () => ({ kind: 'pending', said: 'USERPAYING' }),
    reverse: async () => ({ kind: 'retry', said: 'recall=Y' }),
  };
  return { channel, given };
}

function proof() {
  const checked = verifyAnswer({}, { authenticity: () => 'signature', mismatch: () => undefined });
  assert.ok(checked.ok);
  return checked.verified;
}

describe('what a submit answers, and what it leaves for settlement', () => {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');

  it('paid: code 0, PAID with the payment details and paid_at, no settlement', async () => {
    const { channel } = scripted({
      kind: 'paid',
      details: { out_trade_id: 'tx-1' },
      said: 'SUCCESS',
      proof: proof(),
    });
    const { ports, workflow } = memoryPorts(channel);
    const outcome = await submitPayment(ports, testMerchant, request('paid-1'));
    assert.equal(outcome.code, 0);
    assert.deepEqual(
      [outcome.order.state, outcome.order.trade_state, outcome.order.out_trade_id],
      ['PAID', 0, 'tx-1'],
    );
    assert.equal(outcome.order.paid_at, new Date(t0).toISOString());
    assert.equal(outcome.order.settle_due_at, undefined);
    assert.deepEqual(outcome.order.settlement, [
      { at: new Date(t0).toISOString(), action: 'pay', result: 'SUCCESS' },
    ]);
    assert.equal(workflow.started.size, 0);
  });

  it('refused: code 600, FAILED with the channel’s code and text', async () => {
    const { channel } = scripted({
      kind: 'refused',
      errCode: 'NOTENOUGH',
      errMsg: '余额不足',
      said: 'NOTENOUGH',
      proof: proof(),
    });
    const { ports, workflow } = memoryPorts(channel);
    const outcome = await submitPayment(ports, testMerchant, request('refused-1'));
    assert.equal(outcome.code, 600);
    assert.deepEqual(
      [outcome.order.state, outcome.order.err_code, outcome.order.err_msg],
      ['FAILED', 'NOTENOUGH', '余额不足'],
    );
    assert.equal(workflow.started.size, 0);
  });

  for (const [kind, code] of [
    ['pending', 0],
    ['unknown', 601],
  ] as const) {
    it(`${kind}: code ${code}, PAYING, and a settlement started that holds the lease past the first query`, async () => {
      const { channel } = scripted({ kind, said: 'USERPAYING' });
      const { ports, workflow, clock } = memoryPorts(channel);
      const outcome = await submitPayment(ports, testMerchant, request(`${kind}-1`));
      assert.equal(outcome.code, code);
      assert.deepEqual([outcome.order.state, outcome.order.trade_state], ['PAYING', 6]);
      assert.equal(outcome.order.settle_seq, 1);
      const lease = clock.time + wechatProtocol.firstQueryDelayMs + wechatProtocol.callDeadlineMs + 60_000;
      assert.equal(outcome.order.settle_due_at, new Date(lease).toISOString());
      assert.deepEqual([...workflow.started.keys()], [`${outcome.order.trade_id}-1`]);
    });
  }

  it('a channel that throws is no answer: 601, said ERROR, settled by the protocol', async () => {
    const { channel } = scripted(new Error('socket hang up'));
    const { ports, workflow } = memoryPorts(channel);
    const outcome = await submitPayment(ports, testMerchant, request('throws-1'));
    assert.equal(outcome.code, 601);
    assert.equal(outcome.order.settlement.at(-1)?.result, 'ERROR');
    assert.equal(workflow.started.size, 1);
  });

  it('pays with the route’s credentials (none when the secret has none) and the pay deadline', async () => {
    const { channel, given } = scripted({ kind: 'unknown', said: 'TIMEOUT' });
    const { ports } = memoryPorts(channel);
    await submitPayment(ports, testMerchant, request('creds-1'));
    assert.deepEqual(given[0]?.credentials, testMerchant.secret.channels.wechat);
    assert.equal(given[0]?.deadlineMs, wechatProtocol.payDeadlineMs);
    assert.equal(given[0]?.command?.auth_code, '134567890123456700');
    const bare: Merchant = { ...testMerchant, secret: { ...testMerchant.secret, channels: {} } };
    await submitPayment(ports, bare, request('creds-2'));
    assert.deepEqual(given[1]?.credentials, {});
  });

  it('pay_sent_at is when the request went out, not when it came back; the order exists before the call', async () => {
    let seen: Order | undefined;
    const { ports, clock, orders } = memoryPorts(new SimChannel('00'));
    const { channel } = scripted({ kind: 'unknown', said: 'TIMEOUT' }, async () => {
      seen = await orders.get({ merchant_id: testMerchant.merchant_id, mch_trade_id: 'sent-1' });
      clock.time += 12_000;
    });
    const outcome = await submitPayment(
      { ...ports, channels: { get: () => channel } },
      testMerchant,
      request('sent-1'),
    );
    assert.equal(seen?.state, 'CREATED');
    assert.equal(outcome.order.pay_sent_at, new Date(t0).toISOString());
    assert.equal(outcome.order.settlement[0]?.at, new Date(t0 + 12_000).toISOString());
    assert.match(String(outcome.order.create_token), /^[0-9a-f]{16}$/);
  });

  it('refuses a pay type the merchant has no route or no channel for (202), and another currency (100)', async () => {
    const { ports } = memoryPorts(new SimChannel('00'));
    const noRoute = submitPayment(ports, testMerchant, { ...request('r-1'), pay_type: 'alipay.micro' });
    await assert.rejects(
      noRoute,
      (error: ApiError) => error.code === 202 && /alipay\.micro/.test(error.message),
    );
    const unregistered: Merchant = {
      ...testMerchant,
      pay_types: { 'wechat.micro': { channel: 'nowhere', account: {} } },
    };
    await assert.rejects(submitPayment(ports, unregistered, request('r-2')), (e: ApiError) => e.code === 202);
    await assert.rejects(
      submitPayment(ports, testMerchant, { ...request('r-3'), fee_type: 'HKD' }),
      (e: ApiError) => e.code === 100 && e.message.startsWith('fee_type: ') && e.message.includes('CNY'),
    );
    const hkd: Merchant = {
      ...testMerchant,
      pay_types: {
        'wechat.micro': { channel: 'wechat', account: { appid: 'wx1', mch_id: '1', currency: 'HKD' } },
      },
    };
    const taken = await submitPayment(ports, hkd, { ...request('r-4'), fee_type: 'HKD' });
    assert.equal(taken.order.fee_type, 'HKD');
    const defaulted = await submitPayment(ports, testMerchant, request('r-5'));
    assert.equal(defaulted.order.fee_type, 'CNY');
  });

  it('a repeated number: its state with the same parameters (600 again for a refusal), 102 with others', async () => {
    const channel = new SimChannel('03');
    const { ports } = memoryPorts(channel);
    const first = await submitPayment(ports, testMerchant, request('again-1'));
    assert.equal(first.code, 600);
    const again = await submitPayment(ports, testMerchant, request('again-1'));
    assert.deepEqual([again.code, again.order.trade_id], [600, first.order.trade_id]);
    await assert.rejects(
      submitPayment(ports, testMerchant, { ...request('again-1'), total_fee: 102 }),
      (e: ApiError) => e.code === 102 && /already used with different parameters/.test(e.message),
    );
    assert.deepEqual(channel.calls, ['pay']);
  });

  it('a repeated number of a paid order answers 0; an order id another number collides with is 102', async () => {
    const { ports } = memoryPorts(new SimChannel('00'));
    const paid = await submitPayment(ports, testMerchant, request('paid-again'));
    assert.equal((await submitPayment(ports, testMerchant, request('paid-again'))).code, 0);
    const collide = new (class extends MemoryOrderStore {
      override async create(_order: Order) {
        return { created: false as const, existing: { ...paid.order, mch_trade_id: 'someone-else' } };
      }
    })();
    await assert.rejects(
      submitPayment({ ...ports, orders: collide }, testMerchant, request('other-number')),
      (e: ApiError) => e.code === 102 && /collides/.test(e.message),
    );
  });

  it('a failed order without a channel code (closed by a reverse meanwhile) answers 0 on repeat', async () => {
    const { ports, orders } = memoryPorts(new SimChannel('00'));
    const paid = await submitPayment(ports, testMerchant, request('closed-again'));
    await orders.update(paid.order, { state: 'FAILED', trade_state: 7 });
    assert.equal((await submitPayment(ports, testMerchant, request('closed-again'))).code, 0);
  });
});

describe('a pay answer that comes back while a reverse request took over the order', () => {
  it('the submit still owns it (the request only marked it): it claims and starts the settlement', async () => {
    const { ports, orders, workflow } = memoryPorts(new SimChannel('00'));
    const { channel } = scripted({ kind: 'pending', said: 'USERPAYING' }, async () => {
      const order = await orders.get({ merchant_id: testMerchant.merchant_id, mch_trade_id: 'rev-1' });
      assert.ok(order);
      await orders.update(order, { state: 'REVERSING', trade_state: 5 });
    });
    const outcome = await submitPayment(
      { ...ports, channels: { get: () => channel } },
      testMerchant,
      request('rev-1'),
    );
    assert.deepEqual(
      [outcome.order.state, outcome.order.settle_seq, workflow.started.size],
      ['REVERSING', 1, 1],
    );
    assert.equal(outcome.code, 0);
  });

  it('another owner claimed it with a live lease: the answer is recorded, nothing started', async () => {
    const { ports, orders, workflow, clock } = memoryPorts(new SimChannel('00'));
    const { channel } = scripted({ kind: 'unknown', said: 'TIMEOUT' }, async () => {
      const order = await orders.get({ merchant_id: testMerchant.merchant_id, mch_trade_id: 'rev-2' });
      assert.ok(order);
      await orders.update(order, {
        state: 'REVERSING',
        trade_state: 5,
        settle_seq: 1,
        settle_due_at: new Date(clock.time + 120_000).toISOString(),
      });
    });
    const outcome = await submitPayment(
      { ...ports, channels: { get: () => channel } },
      testMerchant,
      request('rev-2'),
    );
    assert.deepEqual([outcome.order.settle_seq, workflow.started.size], [1, 0]);
    // The merchant cancelled: an unanswered pay on a reversing order is no 601.
    assert.equal(outcome.code, 0);
    assert.equal(outcome.order.settlement.at(-1)?.result, 'TIMEOUT');
  });

  it('the channel refused the payment the merchant was cancelling: the order fails, 600', async () => {
    const { ports, orders, workflow } = memoryPorts(new SimChannel('00'));
    const { channel } = scripted(
      { kind: 'refused', errCode: 'NOTENOUGH', errMsg: 'x', said: 'NOTENOUGH', proof: proof() },
      async () => {
        const order = await orders.get({ merchant_id: testMerchant.merchant_id, mch_trade_id: 'rev-3' });
        assert.ok(order);
        await orders.update(order, { state: 'REVERSING', trade_state: 5 });
      },
    );
    const outcome = await submitPayment(
      { ...ports, channels: { get: () => channel } },
      testMerchant,
      request('rev-3'),
    );
    assert.deepEqual([outcome.code, outcome.order.state, workflow.started.size], [600, 'FAILED', 0]);
  });
});
