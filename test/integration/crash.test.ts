import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'vitest';
import { sandboxMerchants } from '#sandbox/merchants.ts';
import { MicropayClient } from '../../cli/client.ts';
import { payment, sandboxPayTypes, scanOrders, useLocalStack } from '../support/local.ts';

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a process that dies between the channel call and the state machine start', () => {
  // The sweep runs often and the lease grace is short, so recovery is quick enough to watch.
  const stack = useLocalStack({ leaseGraceMs: 500, sweepIntervalMs: 200 });

  for (const payType of sandboxPayTypes) {
    it(`${payType.payType}: does not strand the order: the sweep settles it`, async () => {
      // The API function runs alone in a child process, against this stack's DynamoDB, sandbox and state machine.
      const child = spawn(process.execPath, ['local/api-process.ts'], {
        env: { ...process.env, ...stack().env, PORT: '0' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      try {
        const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
        const { url } = JSON.parse(line) as { url: string };
        const merchant = sandboxMerchants[0];
        assert.ok(merchant);
        const client = new MicropayClient({
          url,
          merchantId: merchant.profile.merchant_id,
          key: merchant.secret.api_key,
        });

        // Outcome 01: the user is entering a password, so the order needs settlement after the pay call.
        stack().stepFunctions.holdStarts = true;
        const body = payment('01', {}, payType);
        const pending = client.micropay(body).catch((error: unknown) => error);
        await until('the StartExecution request', () =>
          stack().stepFunctions.heldStarts > 0 ? true : undefined,
        );
        const order = (await scanOrders(stack())).find((item) => item.mch_trade_id === body.mch_trade_id);
        assert.equal(order?.state, 'PAYING');
        assert.deepEqual(
          stack().sandbox(payType.channel).callsFor(String(order?.trade_id)),
          payType.calls(1, 0, 0),
        );

        child.kill('SIGKILL');
        await exited;
        assert.ok((await pending) instanceof Error, 'the POS got no answer from the dead process');
        stack().stepFunctions.holdStarts = false;

        const tradeId = String(order?.trade_id);
        const settled = await until('the order to settle', async () => {
          const item = (await scanOrders(stack())).find((i) => i.trade_id === tradeId);
          return item?.state === 'PAID' ? item : undefined;
        });
        assert.equal(settled.trade_state, 0);
        assert.equal(settled.settle_due_at, undefined);
        assert.deepEqual(stack().sandbox(payType.channel).callsFor(tradeId), payType.calls(1, 2, 0));
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  }
});
