import assert from 'node:assert/strict';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, it } from 'vitest';
import { merchantClient, payment, useLocalStack } from '../support/local.ts';

/**
 * Express workflows run at least once: a start can run twice, under one name, side by side. The real ASL
 * file runs here with Express start semantics (every StartExecution runs), so these prove that two
 * executions of one order make the channel calls of one.
 */
describe('two executions of one settlement at once (Express is at-least-once)', () => {
  const stack = useLocalStack();

  async function settleWithDuplicate(outcome: string) {
    const client = merchantClient(stack());
    const open = await client.micropay(payment(outcome));
    const tradeId = String(open.envelope.data?.trade_id);
    const [first] = stack()
      .stepFunctions.list()
      .filter((e) => e.input.includes(tradeId));
    assert.ok(first, 'the submit started settlement');
    // The same start again, as an at-least-once delivery would make it.
    const sfn = new SFNClient(stack().clientConfig('sfn'));
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: first.stateMachineArn,
        name: first.name,
        input: first.input,
      }),
    );
    sfn.destroy();
    await stack().stepFunctions.idle();
    const executions = stack()
      .stepFunctions.list()
      .filter((e) => e.input.includes(tradeId));
    const answer = await client.query({ trade_id: tradeId });
    return {
      executions,
      calls: stack().sandbox('wechat').callsFor(tradeId),
      tradeState: answer.envelope.data?.trade_state,
    };
  }

  it('01 (paid at the second query): both run, the channel sees one settlement, paid', async () => {
    const { executions, calls, tradeState } = await settleWithDuplicate('01');
    assert.equal(executions.length, 2);
    assert.deepEqual(calls, { micropay: 1, orderquery: 2, reverse: 0, refund: 0, refundquery: 0 });
    assert.equal(tradeState, 0);
  });

  it('09 (never paid, first reverse asks for another): six queries and two reverses, reversed', async () => {
    const { executions, calls, tradeState } = await settleWithDuplicate('09');
    assert.equal(executions.length, 2);
    assert.deepEqual(calls, { micropay: 1, orderquery: 6, reverse: 2, refund: 0, refundquery: 0 });
    assert.equal(tradeState, 4);
  });
});
