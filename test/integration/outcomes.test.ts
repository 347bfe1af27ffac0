import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  merchantClient,
  payment,
  type SandboxPayType,
  sandboxPayTypes,
  scanOrders,
  useLocalStack,
  warmUp,
} from '../support/local.ts';

/**
 * SPEC section 6: what each sandbox outcome must end in, the submit's code, and the channel calls (pay, query,
 * reverse) it takes to get there, the same on every channel.
 */
const table = [
  { outcome: '00', submitCode: 0, final: 0, calls: [1, 0, 0] },
  { outcome: '01', submitCode: 0, final: 0, calls: [1, 2, 0] },
  { outcome: '02', submitCode: 0, final: 4, calls: [1, 6, 1] },
  { outcome: '03', submitCode: 600, final: 7, calls: [1, 0, 0] },
  { outcome: '04', submitCode: 600, final: 7, calls: [1, 0, 0] },
  { outcome: '05', submitCode: 0, final: 0, calls: [1, 1, 0] },
  { outcome: '06', submitCode: 601, final: 0, calls: [1, 1, 0] },
  { outcome: '07', submitCode: 601, final: 4, calls: [1, 6, 1] },
  { outcome: '08', submitCode: 0, final: 7, calls: [1, 1, 0] },
  { outcome: '09', submitCode: 0, final: 4, calls: [1, 6, 2] },
  { outcome: '10', submitCode: 0, final: 5, calls: [1, 6, 6] },
  { outcome: '57', submitCode: 0, final: 0, calls: [1, 0, 0] },
] as const;

/** Each channel's own words where the tests read them. */
const words = {
  wechat: {
    refusal: 'NOTENOUGH',
    history09: [
      'pay:USERPAYING',
      ...Array(6).fill('query:USERPAYING'),
      'reverse:SYSTEMERROR recall=Y',
      'reverse:SUCCESS',
    ],
    masked: /"auth_code_masked":"1345\*{10}6700"/,
  },
  alipay: {
    refusal: 'ACQ.BUYER_BALANCE_NOT_ENOUGH',
    history09: [
      'pay:10003',
      ...Array(6).fill('query:WAIT_BUYER_PAY'),
      'reverse:ACQ.SYSTEM_ERROR retry_flag=Y',
      'reverse:10000 action=close',
    ],
    masked: /"auth_code_masked":"2867\*{10}8900"/,
  },
} as const;

const key = (payType: SandboxPayType, outcome: string) => `${payType.channel}-${outcome}`;

describe('sandbox outcomes through the local stack, on every channel', () => {
  const stack = useLocalStack();
  const submitted = new Map<
    string,
    { tradeId: string; code: number; tradeState: unknown; needQuery: unknown }
  >();
  const captured: string[] = [];

  it('submits every outcome on every channel over HTTP and settles them all', async () => {
    // Everything the handlers log (Powertools writes to stdout and stderr, and the test runner may route the
    // console elsewhere) is kept to prove that no payment code is ever logged.
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const originals = methods.map((name) => console[name]);
    const write = process.stdout.write.bind(process.stdout);
    const writeError = process.stderr.write.bind(process.stderr);
    for (const [i, name] of methods.entries()) {
      console[name] = (...args: unknown[]) => {
        captured.push(args.map(String).join(' '));
        originals[i]?.apply(console, args);
      };
    }
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      captured.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      captured.push(String(chunk));
      return writeError(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const client = merchantClient(stack());
      // Every channel's table at once (two dozen payments in flight), after one warm payment per channel so no
      // submit waits on a first TLS handshake beside the others.
      await warmUp(stack());
      await Promise.all(
        sandboxPayTypes.flatMap((payType) =>
          table.map(async ({ outcome }) => {
            const { envelope, signatureValid } = await client.micropay(payment(outcome, {}, payType));
            assert.equal(signatureValid, true);
            submitted.set(key(payType, outcome), {
              tradeId: String(envelope.data?.trade_id),
              code: envelope.code,
              tradeState: envelope.data?.trade_state,
              needQuery: envelope.data?.need_query,
            });
          }),
        ),
      );
      await stack().stepFunctions.idle();
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeError;
      for (const [i, name] of methods.entries())
        console[name] = originals[i] as (typeof console)[typeof name];
    }
    assert.equal(submitted.size, table.length * sandboxPayTypes.length);
  });

  for (const payType of sandboxPayTypes) {
    describe(payType.payType, () => {
      for (const row of table) {
        const { submitCode } = row;
        it(`outcome ${row.outcome} answers code ${submitCode} and ends in trade_state ${row.final}`, async () => {
          const first = submitted.get(key(payType, row.outcome));
          assert.ok(first, 'submitted');
          assert.equal(first.code, submitCode);
          if (submitCode === 601) assert.deepEqual([first.tradeState, first.needQuery], [6, 'Y']);
          const { envelope } = await merchantClient(stack()).query({ trade_id: first.tradeId });
          assert.equal(envelope.code, 0);
          assert.equal(envelope.data?.trade_state, row.final);
          assert.equal(envelope.data?.need_query, row.final === 5 ? 'Y' : 'N');
          assert.deepEqual(
            stack().sandbox(payType.channel).callsFor(first.tradeId),
            payType.calls(row.calls[0], row.calls[1], row.calls[2]),
          );
        });
      }

      it('refusals carry the channel code and text', async () => {
        const { envelope } = await merchantClient(stack()).micropay(payment('03', {}, payType));
        assert.equal(envelope.code, 600);
        assert.equal(envelope.err_code, words[payType.channel].refusal);
        assert.equal(envelope.data?.trade_state, 7);
      });

      it('marks an order whose reverse keeps failing REVERSE_FAILED and fails its execution', async () => {
        const tradeId = submitted.get(key(payType, '10'))?.tradeId;
        const order = (await scanOrders(stack())).find((item) => item.trade_id === tradeId);
        assert.equal(order?.state, 'REVERSE_FAILED');
        const execution = stack()
          .stepFunctions.list()
          .find((e) => e.input.includes(String(tradeId)));
        assert.equal(execution?.status, 'FAILED');
      });

      it('keeps the settlement history on the order', async () => {
        const tradeId = submitted.get(key(payType, '09'))?.tradeId;
        const order = (await scanOrders(stack())).find((item) => item.trade_id === tradeId);
        const history = ((order?.settlement ?? []) as { action: string; result: string }[]).map(
          (a) => `${a.action}:${a.result}`,
        );
        assert.deepEqual(history, words[payType.channel].history09);
      });
    });
  }

  it("puts Alipay's answer on the order: trade_no, the buyer, amounts in fen (yuan in the API), time_end", async () => {
    const tradeId = submitted.get(key(sandboxPayTypes[1] as SandboxPayType, '00'))?.tradeId;
    const order = (await scanOrders(stack())).find((item) => item.trade_id === tradeId);
    assert.ok(order);
    assert.match(String(order.out_trade_id), /^\d{28}$/);
    assert.equal(order.ch_trade_id, order.out_trade_id);
    assert.deepEqual(
      [order.buyer_pay_amount, order.invoice_amount, order.receipt_amount, order.point_amount],
      [101, 101, 101, 0],
    );
    assert.equal(order.buyer_logon_id, '159****5620');
    assert.match(String(order.buyer_user_id), /^2088\d{12}$/);
    assert.deepEqual(JSON.parse(String(order.fund_bill_list)), [
      { amount: '1.01', fund_channel: 'ALIPAYACCOUNT', fund_type: 'DEBIT_CARD' },
    ]);
    assert.ok(Math.abs(Number(order.time_end) - Date.parse(String(order.paid_at)) / 1000) < 5, 'time_end');
    const { envelope } = await merchantClient(stack()).query({ trade_id: String(tradeId) });
    assert.equal(envelope.data?.buyer_pay_amount, '1.01');
    assert.equal(envelope.data?.point_amount, '0.00');
    assert.equal(envelope.data?.out_trade_id, order.out_trade_id);
  });

  it("records what Alipay's cancel did: close for a payment never made, nothing where Alipay had no trade", async () => {
    const actions = await Promise.all(
      ['02', '09', '07'].map(async (outcome) => {
        const tradeId = submitted.get(key(sandboxPayTypes[1] as SandboxPayType, outcome))?.tradeId;
        return (await scanOrders(stack())).find((item) => item.trade_id === tradeId)?.reverse_action;
      }),
    );
    assert.deepEqual(actions, ['close', 'close', undefined]);
  });

  it("reverses a paid Alipay order at the merchant's request: Alipay refunds it (action refund)", async () => {
    const client = merchantClient(stack());
    const paid = await client.micropay(payment('00', {}, sandboxPayTypes[1]));
    const tradeId = String(paid.envelope.data?.trade_id);
    assert.equal(paid.envelope.data?.trade_state, 0);
    const reversing = await client.reverse({ trade_id: tradeId });
    assert.equal(reversing.envelope.data?.trade_state, 5);
    await stack().stepFunctions.idle();
    const { envelope } = await client.query({ trade_id: tradeId });
    assert.equal(envelope.data?.trade_state, 4);
    const order = (await scanOrders(stack())).find((item) => item.trade_id === tradeId);
    assert.equal(order?.reverse_action, 'refund');
    assert.deepEqual(stack().sandbox('alipay').callsFor(tradeId), { pay: 1, query: 0, cancel: 1 });
  });

  it('never stores, logs or passes to the state machine a payment code', async () => {
    const codes = sandboxPayTypes.flatMap((payType) => table.map(({ outcome }) => payType.code(outcome)));
    const items = JSON.stringify(await scanOrders(stack()));
    const inputs = JSON.stringify(
      stack()
        .stepFunctions.list()
        .map((e) => e.input),
    );
    const logs = captured.join('');
    assert.ok(logs.length > 0, 'the handlers logged something');
    for (const code of codes) {
      assert.equal(items.includes(code), false, 'stored');
      assert.equal(inputs.includes(code), false, 'state machine input');
      assert.equal(logs.includes(code), false, 'logged');
    }
    for (const { masked } of Object.values(words)) assert.match(items, masked);
  });
});
