import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { merchantClient, payment, scanOrders, testTimeScale, useLocalStack } from '../support/local.ts';

const reverseNotBeforeMs = 15_000 * testTimeScale;

async function historyOf(stack: Parameters<typeof scanOrders>[0], tradeId: string) {
  const order = (await scanOrders(stack)).find((item) => item.trade_id === tradeId);
  return { order, attempts: (order?.settlement ?? []) as { at: string; action: string; result: string }[] };
}

describe.concurrent('query and reverse (independent orders, so the tests run side by side)', () => {
  const stack = useLocalStack();

  it('finds an order by mch_trade_id and by trade_id, and trade_id wins when both are given', async () => {
    const client = merchantClient(stack());
    const a = await client.micropay(payment('00'));
    const b = await client.micropay(payment('00'));
    const byMch = await client.query({ mch_trade_id: String(a.envelope.data?.mch_trade_id) });
    assert.equal(byMch.envelope.data?.trade_id, a.envelope.data?.trade_id);
    const both = await client.query({
      trade_id: String(b.envelope.data?.trade_id),
      mch_trade_id: String(a.envelope.data?.mch_trade_id),
    });
    assert.equal(both.envelope.data?.trade_id, b.envelope.data?.trade_id);
    assert.equal(both.envelope.data?.total_fee, 101);
    assert.equal(both.envelope.data?.out_trade_id !== undefined, true);
  });

  it("does not show one merchant another merchant's order", async () => {
    const paid = await merchantClient(stack(), 0).micropay(payment('00'));
    const other = await merchantClient(stack(), 2).query({ trade_id: String(paid.envelope.data?.trade_id) });
    assert.equal(other.envelope.code, 301);
  });

  it('signs answers with HMAC-SHA256 when the request did', async () => {
    const client = merchantClient(stack(), 0, 'HMAC-SHA256');
    const answer = await client.micropay(payment('00'));
    assert.equal(answer.envelope.code, 0);
    assert.equal(answer.envelope.sign_type, 'HMAC-SHA256');
    assert.match(String(answer.envelope.sign), /^[0-9A-F]{64}$/);
    assert.equal(answer.signatureValid, true);
  });

  it('reverses a paid order, not before 15 s (scaled) after pay, and only once when asked twice', async () => {
    const client = merchantClient(stack());
    const paid = await client.micropay(payment('00'));
    const tradeId = String(paid.envelope.data?.trade_id);
    const first = await client.reverse({ trade_id: tradeId });
    const second = await client.reverse({ trade_id: tradeId });
    assert.equal(first.envelope.code, 0);
    assert.equal(first.envelope.data?.trade_state, 5);
    assert.equal(second.envelope.data?.trade_state, 5);
    await stack().stepFunctions.idle();
    const after = await client.query({ trade_id: tradeId });
    assert.equal(after.envelope.data?.trade_state, 4);
    const { order, attempts } = await historyOf(stack(), tradeId);
    const reverse = attempts.find((a) => a.action === 'reverse');
    assert.ok(reverse && order);
    assert.ok(Date.parse(reverse.at) - Date.parse(String(order.created_at)) >= reverseNotBeforeMs);
    assert.equal(stack().sandbox('wechat').callsFor(tradeId).reverse, 1);
  });

  it('six concurrent reverse requests on a paid order make one reverse call at the channel', async () => {
    const client = merchantClient(stack());
    const paid = await client.micropay(payment('00'));
    const tradeId = String(paid.envelope.data?.trade_id);
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.reverse({ trade_id: tradeId })));
    for (const answer of answers)
      assert.deepEqual([answer.envelope.code, answer.envelope.data?.trade_state], [0, 5]);
    await stack().stepFunctions.idle();
    assert.equal((await client.query({ trade_id: tradeId })).envelope.data?.trade_state, 4);
    assert.equal(stack().sandbox('wechat').callsFor(tradeId).reverse, 1);
    const executions = stack()
      .stepFunctions.list()
      .filter((e) => e.input.includes(tradeId));
    assert.equal(executions.length, 1);
  });

  it('a reverse that arrives while the pay call is in flight is carried out once the pay call ends', async () => {
    const client = merchantClient(stack());
    const body = payment('06');
    const submit = client.micropay(body);
    // The order exists as soon as the submit has written it; its pay call then hangs past its deadline.
    for (let tries = 0; tries < 100; tries++) {
      if ((await client.query({ mch_trade_id: String(body.mch_trade_id) })).envelope.code === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const reversing = await client.reverse({ mch_trade_id: String(body.mch_trade_id) });
    assert.equal(reversing.envelope.data?.trade_state, 5);
    const submitted = await submit;
    // The pay call timed out after the reverse was recorded: the order is reversing, not paying.
    assert.deepEqual([submitted.envelope.code, submitted.envelope.data?.trade_state], [0, 5]);
    const tradeId = String(submitted.envelope.data?.trade_id);
    await stack().stepFunctions.idle();
    assert.equal((await client.query({ trade_id: tradeId })).envelope.data?.trade_state, 4);
    assert.deepEqual(stack().sandbox('wechat').callsFor(tradeId), {
      micropay: 1,
      orderquery: 0,
      reverse: 1,
      refund: 0,
      refundquery: 0,
    });
    const { order, attempts } = await historyOf(stack(), tradeId);
    const reverse = attempts.find((a) => a.action === 'reverse');
    assert.ok(reverse && order?.pay_sent_at);
    assert.ok(Date.parse(reverse.at) - Date.parse(String(order.pay_sent_at)) >= reverseNotBeforeMs);
  });

  it('cancels a payment the user is still entering a password for', async () => {
    const client = merchantClient(stack());
    const open = await client.micropay(payment('02'));
    const tradeId = String(open.envelope.data?.trade_id);
    const answer = await client.reverse({ trade_id: tradeId });
    assert.equal(answer.envelope.data?.trade_state, 5);
    await stack().stepFunctions.idle();
    assert.equal((await client.query({ trade_id: tradeId })).envelope.data?.trade_state, 4);
    const calls = stack().sandbox('wechat').callsFor(tradeId);
    assert.equal(calls.reverse, 1);
    assert.ok((calls.orderquery ?? 0) < 6, 'queries stop once the merchant cancels');
  });

  it('refuses to reverse a failed order with 302, and changes nothing', async () => {
    const client = merchantClient(stack());
    const failed = await client.micropay(payment('03'));
    const tradeId = String(failed.envelope.data?.trade_id);
    const state = async () => ({
      order: (await historyOf(stack(), tradeId)).order,
      calls: stack().sandbox('wechat').callsFor(tradeId),
      executions: stack()
        .stepFunctions.list()
        .filter((execution) => execution.name.startsWith(tradeId)).length,
    });
    const before = await state();
    const answer = await client.reverse({ trade_id: tradeId });
    assert.equal(answer.envelope.code, 302);
    assert.match(String(answer.envelope.msg), /failed/);
    assert.deepEqual(await state(), before);
  });

  it('lets an operator retry the reverse of a REVERSE_FAILED order', async () => {
    const client = merchantClient(stack());
    const open = await client.micropay(payment('10'));
    const tradeId = String(open.envelope.data?.trade_id);
    await stack().stepFunctions.idle();
    assert.equal((await historyOf(stack(), tradeId)).order?.state, 'REVERSE_FAILED');
    const retry = await client.reverse({ trade_id: tradeId });
    assert.equal(retry.envelope.data?.trade_state, 5);
    await stack().stepFunctions.idle();
    // Sandbox outcome 10 never reverses: the retry runs the whole reverse schedule again and alarms again.
    assert.equal(stack().sandbox('wechat').callsFor(tradeId).reverse, 12);
    assert.equal((await historyOf(stack(), tradeId)).order?.state, 'REVERSE_FAILED');
  });
});
