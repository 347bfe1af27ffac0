import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { merchantClient, payment, scanOrders, useLocalStack, wechatCode } from '../support/local.ts';

/** SPEC section 6: what each sandbox outcome must end in, and the channel calls it takes to get there. */
const table = [
  { outcome: '00', submitCode: 0, final: 0, calls: { micropay: 1, orderquery: 0, reverse: 0 } },
  { outcome: '01', submitCode: 0, final: 0, calls: { micropay: 1, orderquery: 2, reverse: 0 } },
  { outcome: '02', submitCode: 0, final: 4, calls: { micropay: 1, orderquery: 6, reverse: 1 } },
  { outcome: '03', submitCode: 600, final: 7, calls: { micropay: 1, orderquery: 0, reverse: 0 } },
  { outcome: '04', submitCode: 600, final: 7, calls: { micropay: 1, orderquery: 0, reverse: 0 } },
  { outcome: '05', submitCode: 0, final: 0, calls: { micropay: 1, orderquery: 1, reverse: 0 } },
  { outcome: '06', submitCode: 601, final: 0, calls: { micropay: 1, orderquery: 1, reverse: 0 } },
  { outcome: '07', submitCode: 601, final: 4, calls: { micropay: 1, orderquery: 6, reverse: 1 } },
  { outcome: '08', submitCode: 0, final: 7, calls: { micropay: 1, orderquery: 1, reverse: 0 } },
  { outcome: '09', submitCode: 0, final: 4, calls: { micropay: 1, orderquery: 6, reverse: 2 } },
  { outcome: '10', submitCode: 0, final: 5, calls: { micropay: 1, orderquery: 6, reverse: 6 } },
  { outcome: '57', submitCode: 0, final: 0, calls: { micropay: 1, orderquery: 0, reverse: 0 } },
] as const;

describe('sandbox outcomes through the local stack', () => {
  const stack = useLocalStack();
  const submitted = new Map<
    string,
    { tradeId: string; code: number; tradeState: unknown; needQuery: unknown }
  >();
  const captured: string[] = [];

  it('submits every outcome over HTTP and settles them all', async () => {
    // Everything the handlers log (Powertools writes through the console in local mode, and the test
    // runner may route the console elsewhere) is kept to prove that no payment code is ever logged.
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const originals = methods.map((name) => console[name]);
    const write = process.stdout.write.bind(process.stdout);
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
    try {
      const client = merchantClient(stack());
      await Promise.all(
        table.map(async ({ outcome }) => {
          const { envelope, signatureValid } = await client.micropay(payment(outcome));
          assert.equal(signatureValid, true);
          submitted.set(outcome, {
            tradeId: String(envelope.data?.trade_id),
            code: envelope.code,
            tradeState: envelope.data?.trade_state,
            needQuery: envelope.data?.need_query,
          });
        }),
      );
      await stack().stepFunctions.idle();
    } finally {
      process.stdout.write = write;
      for (const [i, name] of methods.entries())
        console[name] = originals[i] as (typeof console)[typeof name];
    }
    assert.equal(submitted.size, table.length);
  });

  for (const row of table) {
    it(`outcome ${row.outcome} answers code ${row.submitCode} and ends in trade_state ${row.final}`, async () => {
      const first = submitted.get(row.outcome);
      assert.ok(first, 'submitted');
      assert.equal(first.code, row.submitCode);
      if (row.submitCode === 601) assert.deepEqual([first.tradeState, first.needQuery], [6, 'Y']);
      const { envelope } = await merchantClient(stack()).query({ trade_id: first.tradeId });
      assert.equal(envelope.code, 0);
      assert.equal(envelope.data?.trade_state, row.final);
      assert.equal(envelope.data?.need_query, row.final === 5 ? 'Y' : 'N');
      assert.deepEqual(stack().sandbox('wechat').callsFor(first.tradeId), row.calls);
    });
  }

  it('refusals carry the channel code and text', async () => {
    const { envelope } = await merchantClient(stack()).micropay(payment('03'));
    assert.equal(envelope.code, 600);
    assert.equal(envelope.err_code, 'NOTENOUGH');
    assert.equal(envelope.data?.trade_state, 7);
  });

  it('marks an order whose reverse keeps failing REVERSE_FAILED and fails its execution', async () => {
    const tradeId = submitted.get('10')?.tradeId;
    const order = (await scanOrders(stack())).find((item) => item.trade_id === tradeId);
    assert.equal(order?.state, 'REVERSE_FAILED');
    const execution = stack()
      .stepFunctions.list()
      .find((e) => e.input.includes(String(tradeId)));
    assert.equal(execution?.status, 'FAILED');
  });

  it('keeps the settlement history on the order', async () => {
    const tradeId = submitted.get('09')?.tradeId;
    const order = (await scanOrders(stack())).find((item) => item.trade_id === tradeId);
    const history = ((order?.settlement ?? []) as { action: string; result: string }[]).map(
      (a) => `${a.action}:${a.result}`,
    );
    assert.deepEqual(history, [
      'pay:USERPAYING',
      ...Array(6).fill('query:USERPAYING'),
      'reverse:SYSTEMERROR recall=Y',
      'reverse:SUCCESS',
    ]);
  });

  it('never stores, logs or passes to the state machine a payment code', async () => {
    const codes = table.map(({ outcome }) => wechatCode(outcome));
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
    assert.match(items, /"auth_code_masked":"1345\*{10}6700"/);
  });
});
