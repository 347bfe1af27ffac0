import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { MicropayRequest } from '#core/api/requests.ts';
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
