import assert from 'node:assert/strict';
import { beforeAll, describe, it } from 'vitest';
import {
  merchantClient,
  orderId,
  payment,
  sandboxPayTypes,
  scanOrders,
  useLocalStack,
  warmUp,
} from '../support/local.ts';

describe('idempotency', () => {
  const stack = useLocalStack();
  beforeAll(() => warmUp(stack()));

  for (const payType of sandboxPayTypes) {
    it(`${payType.payType}: 20 concurrent identical submissions make one channel call and share one trade_id`, async () => {
      const client = merchantClient(stack());
      const body = payment('00', { mch_trade_id: orderId('storm') }, payType);
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.micropay(body)));
      const tradeIds = new Set(answers.map((a) => a.envelope.data?.trade_id));
      assert.equal(tradeIds.size, 1);
      assert.deepEqual(new Set(answers.map((a) => a.envelope.code)), new Set([0]));
      const [tradeId] = [...tradeIds];
      assert.deepEqual(stack().sandbox(payType.channel).callsFor(String(tradeId)), payType.calls(1, 0, 0));
      const items = (await scanOrders(stack())).filter((item) => item.mch_trade_id === body.mch_trade_id);
      assert.equal(items.length, 1);
    });

    it(`${payType.payType}: a storm on a payment that is still open also charges once and settles once`, async () => {
      const client = merchantClient(stack());
      const body = payment('01', { mch_trade_id: orderId('storm-open') }, payType);
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.micropay(body)));
      const tradeId = String(answers[0]?.envelope.data?.trade_id);
      assert.ok(answers.every((a) => a.envelope.data?.trade_id === tradeId));
      await stack().stepFunctions.idle();
      assert.deepEqual(stack().sandbox(payType.channel).callsFor(tradeId), payType.calls(1, 2, 0));
      const { envelope } = await client.query({ trade_id: tradeId });
      assert.equal(envelope.data?.trade_state, 0);
    });
  }

  it('a retry with the same parameters returns the current state of the order', async () => {
    const client = merchantClient(stack());
    const body = payment('00');
    const first = await client.micropay(body);
    const again = await client.micropay(body);
    assert.equal(again.envelope.code, 0);
    assert.equal(again.envelope.data?.trade_id, first.envelope.data?.trade_id);
    assert.equal(again.envelope.data?.trade_state, 0);
  });

  for (const [field, value] of [
    ['total_fee', 102],
    ['auth_code', '134567890123456799'],
    ['body', 'Other goods'],
  ] as const) {
    it(`the same mch_trade_id with a different ${field} gets code 102 and changes nothing`, async () => {
      const client = merchantClient(stack());
      const body = payment('00');
      const first = await client.micropay(body);
      const before = (await scanOrders(stack())).find((item) => item.mch_trade_id === body.mch_trade_id);
      const conflict = await client.micropay({ ...body, [field]: value });
      assert.equal(conflict.envelope.code, 102);
      assert.match(String(conflict.envelope.msg), /mch_trade_id/);
      const after = (await scanOrders(stack())).find((item) => item.mch_trade_id === body.mch_trade_id);
      assert.deepEqual(after, before);
      assert.equal(stack().sandbox('wechat').callsFor(String(first.envelope.data?.trade_id)).micropay, 1);
    });
  }

  it('the same mch_trade_id under another merchant is another order', async () => {
    const body = payment('00');
    const a = await merchantClient(stack(), 0).micropay(body);
    const b = await merchantClient(stack(), 2).micropay(body);
    assert.equal(a.envelope.code, 0);
    assert.equal(b.envelope.code, 0);
    assert.notEqual(a.envelope.data?.trade_id, b.envelope.data?.trade_id);
  });
});
