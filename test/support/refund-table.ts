import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { sandboxRefundOutcomes } from '#sandbox/outcomes.ts';
import {
  merchantClient,
  orderId,
  payment,
  type SandboxPayType,
  sandboxPayTypes,
  scanOrders,
  useLocalStack,
  warmUp,
} from './local.ts';

/**
 * One row of SPEC section 8's sandbox refund table as a channel plays it: the code and refund_state of the first
 * answer, the final refund_state, and the channel calls (`action:said`) that followed the refund to its end.
 */
export interface RefundRow {
  readonly suffix: string;
  readonly code: number;
  readonly first: number;
  readonly final: number;
  readonly calls: readonly string[];
}

/**
 * Pays an order of 1000 fen per row on sandbox merchant M100000001's `payType`, refunds `100 + suffix` of each at
 * once, lets every refund be followed to its end, then checks each row: the first answer, the final refund, the
 * order's refunded amount and the calls recorded on the order. Then a failed refund frees its amount, and a
 * replayed refund number refunds once.
 */
export function describeRefundTable(options: {
  readonly title: string;
  readonly payType: SandboxPayType['payType'];
  readonly table: readonly RefundRow[];
  /** Rows whose final refund_state is not the SPEC table's, for a reason the caller documents. */
  readonly differsFromSpec?: readonly string[];
  /** The err_code of a refused refund (03) and of one that failed after it was accepted (05). */
  readonly errCodes: { readonly refused: string; readonly closed: string };
}): void {
  const { table, errCodes } = options;
  describe(options.title, () => {
    const stack = useLocalStack();
    const payType = sandboxPayTypes.find((p) => p.payType === options.payType) as SandboxPayType;
    const submitted = new Map<string, { tradeId: string; refundId: string; code: number; state: unknown }>();

    it('the table covers every row of SPEC section 8', () => {
      assert.deepEqual(
        sandboxRefundOutcomes.map((row) => row.suffix),
        table.map((row) => row.suffix).filter((suffix) => suffix !== '57'),
      );
      for (const row of table.filter((r) => !options.differsFromSpec?.includes(r.suffix))) {
        assert.equal(
          sandboxRefundOutcomes.find((r) => r.suffix === row.suffix)?.finalRefundState ?? 0,
          row.final,
          row.suffix,
        );
      }
    });

    it(`pays an order per row on M100000001 ${options.payType}, refunds each and settles them all`, async () => {
      await warmUp(stack());
      const client = merchantClient(stack());
      await Promise.all(
        table.map(async ({ suffix }) => {
          const pay = await client.micropay(payment('00', { total_fee: 1000 }, payType));
          assert.deepEqual([pay.envelope.code, pay.envelope.data?.trade_state], [0, 0]);
          const tradeId = String(pay.envelope.data?.trade_id);
          const { envelope, signatureValid } = await client.refund({
            trade_id: tradeId,
            out_refund_no: orderId('RF'),
            refund_fee: 100 + Number(suffix),
            refund_desc: '退货',
          });
          assert.equal(signatureValid, true);
          submitted.set(suffix, {
            tradeId,
            refundId: String(envelope.data?.refund_id),
            code: envelope.code,
            state: envelope.data?.refund_state,
          });
        }),
      );
      await stack().stepFunctions.idle();
      assert.equal(submitted.size, table.length);
    });

    for (const row of table) {
      it(`refund_fee ending ${row.suffix}: code ${row.code}, refund_state ${row.first} at once, ${row.final} in the end`, async () => {
        const first = submitted.get(row.suffix);
        assert.ok(first, 'submitted');
        assert.deepEqual([first.code, first.state], [row.code, row.first]);
        const client = merchantClient(stack());
        const { envelope } = await client.refundQuery({ refund_id: first.refundId });
        assert.equal(envelope.code, 0);
        const refund = envelope.data as Record<string, unknown>;
        assert.equal(refund.refund_state, row.final, JSON.stringify(refund));
        assert.equal(refund.need_query, 'N');
        assert.equal(refund.refund_fee, 100 + Number(row.suffix));
        const order = (await client.query({ trade_id: first.tradeId })).envelope.data as Record<
          string,
          unknown
        >;
        if (row.final === 0) {
          assert.equal(typeof refund.refund_time, 'number');
          assert.deepEqual([order.trade_state, order.refunded_fee], [1, 100 + Number(row.suffix)]);
        } else {
          // Failed (nothing refunded) or abnormal (reserved, not counted as refunded).
          assert.deepEqual([order.trade_state, order.refunded_fee], [0, 0]);
          if (row.final === 2)
            assert.equal(refund.err_code, row.suffix === '03' ? errCodes.refused : errCodes.closed);
        }
        // The order's own item (the refund numbers' bindings beside it name the order too).
        const record = (await scanOrders(stack())).find(
          (o) => o.trade_id === first.tradeId && Array.isArray(o.refunds),
        );
        const refunds = (record?.refunds ?? []) as { attempts: { action: string; result: string }[] }[];
        assert.deepEqual(
          refunds[0]?.attempts.map((a) => `${a.action}:${a.result}`),
          row.calls,
        );
      });
    }

    it('a failed refund frees its amount: the whole order can be refunded after it', async () => {
      const failed = submitted.get('05');
      assert.ok(failed);
      const client = merchantClient(stack());
      const { envelope } = await client.refund({
        trade_id: failed.tradeId,
        out_refund_no: orderId('RF'),
        refund_fee: 1000,
      });
      assert.equal(envelope.code, 0);
      await stack().stepFunctions.idle();
      const order = (await client.query({ trade_id: failed.tradeId })).envelope.data;
      assert.deepEqual([order?.trade_state, order?.refunded_fee], [1, 1000]);
    });

    it('the same out_refund_no again returns the same refund and refunds nothing more', async () => {
      const client = merchantClient(stack());
      const pay = await client.micropay(payment('00', { total_fee: 500 }, payType));
      const tradeId = String(pay.envelope.data?.trade_id);
      const number = orderId('RF');
      const first = await client.refund({ trade_id: tradeId, out_refund_no: number, refund_fee: 200 });
      await stack().stepFunctions.idle();
      const again = await client.refund({ trade_id: tradeId, out_refund_no: number, refund_fee: 200 });
      assert.equal(again.envelope.data?.refund_id, first.envelope.data?.refund_id);
      assert.deepEqual([again.envelope.code, again.envelope.data?.refund_state], [0, 0]);
      const order = (await client.query({ trade_id: tradeId })).envelope.data;
      assert.equal(order?.refunded_fee, 200);
      // The order has a refund: the reverse is no longer the way back.
      assert.equal((await client.reverse({ trade_id: tradeId })).envelope.code, 302);
    });
  });
}
