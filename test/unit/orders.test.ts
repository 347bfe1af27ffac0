import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { MicropayRequest } from '#core/api/requests.ts';
import { alipay as alipayChannel } from '#core/channels/alipay/index.ts';
import type { ApiError } from '#core/errors.ts';
import { toState } from '#core/orders/changes.ts';
import { type Order, toMerchantView } from '#core/orders/order.ts';
import { findOrder, reverseOrder } from '#core/payments/orders.ts';
import { submitPayment } from '#core/payments/submit.ts';
import { memoryPorts, SimChannel, type SimOutcome, testMerchant } from '../support/memory.ts';

const request = (id: string, outcome: SimOutcome = '00'): MicropayRequest => ({
  merchant_id: testMerchant.merchant_id,
  pay_type: 'wechat.micro',
  mch_trade_id: id,
  body: 'goods',
  total_fee: 101,
  spbill_create_ip: '10.0.0.1',
  auth_code: `1345678901234567${outcome}`,
  sign: 'x',
});

async function paidOrder(id: string, outcome: SimOutcome = '00') {
  const memory = memoryPorts(new SimChannel(outcome));
  const { order } = await submitPayment(memory.ports, testMerchant, request(id, outcome));
  return { ...memory, order };
}

describe('finding an order', () => {
  it('by trade_id, which wins over mch_trade_id, or by mch_trade_id; another merchant’s is not found (301)', async () => {
    const { ports, order } = await paidOrder('find-1');
    const other = await submitPayment(ports, testMerchant, request('find-2'));
    const merchant_id = testMerchant.merchant_id;
    assert.equal((await findOrder(ports, { merchant_id, mch_trade_id: 'find-1' })).trade_id, order.trade_id);
    const both = await findOrder(ports, {
      merchant_id,
      trade_id: other.order.trade_id,
      mch_trade_id: 'find-1',
    });
    assert.equal(both.trade_id, other.order.trade_id);
    for (const wrong of [
      { merchant_id, mch_trade_id: 'nobody' },
      { merchant_id: 'M2', mch_trade_id: 'find-1' },
      { merchant_id: 'M2', trade_id: order.trade_id },
      { merchant_id, trade_id: '0'.repeat(24) },
    ]) {
      await assert.rejects(
        findOrder(ports, wrong),
        (e: ApiError) => e.code === 301 && e.message === 'order does not exist',
      );
    }
  });
});

describe('reversing an order', () => {
  it('a paid order with no owner: claimed, REVERSING, one settlement started', async () => {
    const { ports, order, workflow } = await paidOrder('rev-paid');
    const reversed = await reverseOrder(ports, order);
    assert.deepEqual([reversed.state, reversed.trade_state, reversed.settle_seq], ['REVERSING', 5, 1]);
    // A request calls no channel: it adds nothing to the settlement history.
    assert.deepEqual(reversed.settlement, order.settlement);
    assert.deepEqual([...workflow.started.keys()], [`${order.trade_id}-1`]);
  });

  it('a failed or closed order: 302 naming which, and nothing written', async () => {
    for (const [state, said] of [
      ['FAILED', 'failed'],
      ['CLOSED', 'closed'],
    ] as const) {
      const { ports, order, orders, workflow } = await paidOrder(`rev-${state}`, '03');
      const stored = state === 'CLOSED' ? await orders.update(order, toState('CLOSED')) : order;
      await assert.rejects(
        reverseOrder(ports, stored),
        (e: ApiError) => e.code === 302 && e.message === `order is ${said}; there is nothing to reverse`,
      );
      const after = await orders.get(order);
      assert.equal(after?.version, stored.version);
      assert.equal(workflow.started.size, 0);
    }
  });

  it('a reversed order, or one already reversing under a live owner: answered as it is, nothing written', async () => {
    const { ports, order, orders, workflow } = await paidOrder('rev-done');
    const reversing = await reverseOrder(ports, order);
    const again = await reverseOrder(ports, reversing);
    assert.equal(again.version, reversing.version);
    const reversed = await orders.update(again, { ...toState('REVERSED'), settle_due_at: undefined });
    assert.equal((await reverseOrder(ports, reversed)).version, reversed.version);
    assert.equal(workflow.started.size, 1);
  });

  it('an order being paid (the submit owns it): only marked REVERSING, the owner carries it out', async () => {
    const { ports, orders, workflow, clock } = memoryPorts(new SimChannel('00'));
    const created: Order = {
      merchant_id: testMerchant.merchant_id,
      mch_trade_id: 'rev-owned',
      trade_id: '0'.repeat(24),
      pay_type: 'wechat.micro',
      channel: 'wechat',
      total_fee: 1,
      ...toState('PAYING'),
      body: 'b',
      auth_code_masked: 'x',
      request_fingerprint: 'f',
      created_at: new Date(clock.time).toISOString(),
      updated_at: new Date(clock.time).toISOString(),
      settlement: [],
      settle_seq: 0,
      settle_due_at: new Date(clock.time + 60_000).toISOString(),
      version: 1,
    };
    await orders.create(created);
    const marked = await reverseOrder(ports, created);
    assert.deepEqual([marked.state, marked.settle_seq, workflow.started.size], ['REVERSING', 0, 0]);
    // Once that owner's lease has run out, a reverse request claims it and starts a settlement.
    clock.time += 61_000;
    const claimed = await reverseOrder(ports, marked);
    assert.deepEqual([claimed.settle_seq, workflow.started.size], [1, 1]);
  });

  it('an order of a channel no longer configured is still claimed, with the lease over no call', async () => {
    const { ports, order, clock } = await paidOrder('rev-gone');
    const reversed = await reverseOrder({ ...ports, channels: { get: () => undefined } }, order);
    assert.equal(reversed.settle_due_at, new Date(clock.time + 60_000).toISOString());
  });
});

describe('what a merchant sees of an order', () => {
  const base = async () => (await paidOrder('view-1')).order;

  it('need_query is N only for a final state other than REVERSE_FAILED', async () => {
    const order = await base();
    const view = (state: Order['state']) => toMerchantView({ ...order, ...toState(state) }).need_query;
    assert.deepEqual(
      (
        ['PAID', 'FAILED', 'REVERSED', 'CLOSED', 'REVERSE_FAILED', 'PAYING', 'REVERSING', 'CREATED'] as const
      ).map(view),
      ['N', 'N', 'N', 'N', 'Y', 'Y', 'Y', 'Y'],
    );
  });

  it('fee_type defaults to CNY; undefined fields are left out', async () => {
    const order = await base();
    const { fee_type: _omitted, ...noCurrency } = order;
    const view = toMerchantView(noCurrency as Order);
    assert.equal(view.fee_type, 'CNY');
    assert.equal('buyer_logon_id' in view, false);
    assert.equal('err_code' in view, false);
  });

  it('cash_fee only in the order’s own currency; Alipay’s amounts as yuan strings', async () => {
    const order = await base();
    assert.equal(toMerchantView({ ...order, cash_fee: 89 }).cash_fee, 89);
    assert.equal(toMerchantView({ ...order, cash_fee: 89, cash_fee_type: 'CNY' }).cash_fee, 89);
    assert.equal(
      toMerchantView({ ...order, fee_type: 'HKD', cash_fee: 89, cash_fee_type: 'CNY' }).cash_fee,
      undefined,
    );
    assert.equal(
      toMerchantView({ ...order, fee_type: undefined, cash_fee: 89, cash_fee_type: 'CNY' }).cash_fee,
      89,
    );
    const alipay = toMerchantView(
      { ...order, buyer_pay_amount: 101, point_amount: 0 },
      alipayChannel.orderFields,
    );
    assert.deepEqual(
      [alipay.buyer_pay_amount, alipay.point_amount, alipay.invoice_amount],
      ['1.01', '0.00', undefined],
    );
  });
});
