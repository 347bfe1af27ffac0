import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { blueocean } from '#core/channels/blueocean/index.ts';
import type { Channel, ChannelContext, RefundCommand, RefundResult } from '#core/channels/channel.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { BlueoceanSandbox } from '#sandbox/blueocean.ts';
import { sandboxPkiIn } from '#sandbox/certificates.ts';
import { sandboxRefundOutcomes } from '#sandbox/outcomes.ts';
import type { MicropayClient } from '../../cli/client.ts';
import { merchantClient, orderId, payment, stackState, useLocalStack, wechatCode } from '../support/local.ts';

/** SPEC section 8's sandbox refund table, and a suffix it does not name (refunds at once). */
const outcomes = [
  ...sandboxRefundOutcomes.map(({ suffix, finalRefundState }) => ({ suffix, finalRefundState })),
  { suffix: '57', finalRefundState: 0 },
];
/** What /v1/refund answers at once, by outcome: 600 for a refusal, 601 for a call that got no answer in time. */
const submitCodes: Readonly<Record<string, number>> = { '03': 600, '06': 601, '07': 601 };
/** A refund amount (HK cents) whose last two digits pick the outcome. */
const refundFee = (suffix: string) => Number(`1${suffix}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls /v1/refund/query until the refund is final (need_query N), or gives up after `withinMs`. */
async function finalRefund(client: MicropayClient, outRefundNo: string, withinMs = 30_000) {
  const until = Date.now() + withinMs;
  for (;;) {
    const { envelope } = await client.refundQuery({ out_refund_no: outRefundNo });
    if (envelope.data?.need_query === 'N' || Date.now() > until) return envelope;
    await sleep(100);
  }
}

describe('partner refunds through the local stack (M100000004 → BlueOcean, M100000005 → fshows)', () => {
  const stack = useLocalStack();
  const blueoceanMerchant = () => merchantClient(stack(), 3);
  const fshowsMerchant = () => merchantClient(stack(), 4);

  /** A paid order (HK$100.00) of a merchant: its trade_id. */
  const paid = async (client: MicropayClient) => {
    const { envelope } = await client.micropay(payment('00', { total_fee: 10_000 }));
    assert.deepEqual([envelope.code, envelope.data?.trade_state], [0, 0], JSON.stringify(envelope));
    return String(envelope.data?.trade_id);
  };

  it('follows every sandbox refund outcome on BlueOcean to its final refund_state (SPEC section 8)', async () => {
    const client = blueoceanMerchant();
    const runs = await Promise.all(
      outcomes.map(async ({ suffix, finalRefundState }) => {
        const tradeId = await paid(client);
        const outRefundNo = `RF-${orderId('B')}`;
        const { envelope } = await client.refund({
          trade_id: tradeId,
          out_refund_no: outRefundNo,
          refund_fee: refundFee(suffix),
          refund_desc: '退货',
        });
        return { suffix, finalRefundState, tradeId, outRefundNo, submitted: envelope };
      }),
    );
    for (const run of runs) {
      const { suffix, submitted } = run;
      const code = submitCodes[suffix] ?? 0;
      assert.equal(submitted.code, code, `${suffix}: ${JSON.stringify(submitted)}`);
      // The seed generation's refund answer states no refund state: accepted, processing until queried.
      const atSubmit = code === 600 ? 2 : 1;
      assert.deepEqual(
        [submitted.data?.refund_state, submitted.data?.need_query],
        [atSubmit, atSubmit === 2 ? 'N' : 'Y'],
      );
      if (code === 600) assert.deepEqual([submitted.err_code, submitted.data?.err_code], ['40107', '40107']);
    }
    for (const { suffix, finalRefundState, tradeId, outRefundNo } of runs) {
      const final = await finalRefund(client, outRefundNo);
      assert.equal(final.data?.refund_state, finalRefundState, `${suffix}: ${JSON.stringify(final)}`);
      assert.equal(final.data?.need_query, 'N');
      const order = (await client.query({ trade_id: tradeId })).envelope.data;
      if (finalRefundState === 0) {
        assert.equal(final.data?.refunded_fee, refundFee(suffix));
        assert.match(String(final.data?.ch_refund_id), /^50000\d{24}$/);
        assert.equal(typeof final.data?.refund_time, 'number');
        assert.deepEqual([order?.trade_state, order?.refunded_fee], [1, refundFee(suffix)]);
      } else {
        // Failed (03 refused, 05 closed) or abnormal (04): nothing counted as refunded; the order stays paid.
        assert.equal(final.data?.refunded_fee, 0);
        assert.deepEqual([order?.trade_state, order?.refunded_fee], [0, 0]);
      }
    }
  });

  it('answers a repeated refund with the same refund, refunding once', async () => {
    const client = blueoceanMerchant();
    const tradeId = await paid(client);
    const request = { trade_id: tradeId, out_refund_no: `RF-${orderId('R')}`, refund_fee: 2_500 };
    const first = await client.refund(request);
    const final = await finalRefund(client, request.out_refund_no);
    assert.equal(final.data?.refund_state, 0);
    const again = await client.refund(request);
    assert.deepEqual(
      [again.envelope.code, again.envelope.data?.refund_id, again.envelope.data?.refund_state],
      [0, first.envelope.data?.refund_id, 0],
    );
    // The rest of the order refunds too; beyond it, 103.
    const rest = await client.refund({
      trade_id: tradeId,
      out_refund_no: `RF-${orderId('S')}`,
      refund_fee: 7_500,
    });
    assert.equal(rest.envelope.code, 0);
    const more = await client.refund({
      trade_id: tradeId,
      out_refund_no: `RF-${orderId('T')}`,
      refund_fee: 1,
    });
    assert.equal(more.envelope.code, 103);
    const restFinal = await finalRefund(client, String(rest.envelope.data?.out_refund_no));
    assert.deepEqual([restFinal.data?.refund_state, restFinal.data?.refunded_fee], [0, 10_000]);
  });

  it('answers 202 to a refund on the fshows route (no documented refund), changing nothing', async () => {
    const client = fshowsMerchant();
    const tradeId = await paid(client);
    await stack().stepFunctions.idle();
    const before = await stackState(stack());
    const refused = await client.refund({
      trade_id: tradeId,
      out_refund_no: `RF-${orderId('F')}`,
      refund_fee: 100,
    });
    assert.equal(refused.envelope.code, 202, JSON.stringify(refused.envelope));
    assert.match(String(refused.envelope.msg), /documents no refund/);
    assert.deepEqual(await stackState(stack()), before);
    const listed = await client.refundQuery({ trade_id: tradeId });
    assert.deepEqual([listed.envelope.code, listed.envelope.data?.refunds], [0, []]);
    const order = (await client.query({ trade_id: tradeId })).envelope.data;
    assert.deepEqual([order?.trade_state, order?.refunded_fee], [0, 0]);
  });
});

describe("BlueOcean sandbox refunds with the channel's own client (both API generations)", () => {
  const account = { appid: '1000258', key: 'sandboxblueoceankey0123456789abc' };
  let sandbox: BlueoceanSandbox;
  let channel: Channel;
  beforeAll(async () => {
    const pki = sandboxPkiIn(inject('sandboxKeysDir'));
    sandbox = new BlueoceanSandbox({ accounts: [account], timeScale: 0.001, pki });
    await sandbox.listen();
    channel = blueocean.create({ url: sandbox.url, http: new ChannelHttp(pki.caPem) });
  });
  afterAll(() => sandbox.close());

  const deadline = 2_000;
  const ctxOf = (api: string, key = account.key): ChannelContext => ({
    account: { appid: account.appid, currency: 'HKD', api },
    credentials: { api_key: key },
  });
  const number = () => randomBytes(12).toString('hex');

  /** Pays an order at the sandbox (`auth_code` outcome `outcome`); its number. */
  const pay = async (ctx: ChannelContext, totalFee = 1_000, outcome = '00') => {
    const outTradeNo = number();
    await channel.pay(
      ctx,
      {
        out_trade_no: outTradeNo,
        total_fee: totalFee,
        auth_code: wechatCode(outcome),
        body: 'g',
        spbill_create_ip: '10.1.2.3',
      },
      deadline,
    );
    return outTradeNo;
  };

  /** Follows a refund as settlement does: sent until accepted, queried until final; the results in order. */
  const follow = async (ctx: ChannelContext, command: RefundCommand) => {
    const refunds = channel.refunds;
    assert.ok(refunds);
    const seen: RefundResult[] = [];
    let accepted = false;
    for (let step = 0; step < 12; step++) {
      const result = await (accepted ? refunds.query : refunds.refund)(ctx, command, deadline);
      seen.push(result);
      if (['refunded', 'failed', 'abnormal'].includes(result.kind)) break;
      if (result.kind === 'processing') accepted = true;
      if (result.kind === 'absent') accepted = false;
    }
    return seen;
  };

  const finalKind: Readonly<Record<number, string>> = { 0: 'refunded', 2: 'failed', 3: 'abnormal' };

  for (const api of ['wechat', 'unified']) {
    it(`${api}: every refund outcome ends as SPEC section 8 says, and the ledger holds it per order`, async () => {
      const ctx = ctxOf(api);
      for (const { suffix, finalRefundState } of outcomes) {
        const outTradeNo = await pay(ctx);
        const command = {
          out_trade_no: outTradeNo,
          total_fee: 1_000,
          out_refund_no: number(),
          refund_fee: refundFee(suffix),
        };
        const seen = await follow(ctx, command);
        const last = seen.at(-1);
        assert.equal(
          last?.kind,
          finalKind[finalRefundState],
          `${api} ${suffix}: ${seen.map((r) => r.said).join(' ')}`,
        );
        if (last?.kind === 'refunded') assert.match(String(last.ch_refund_id), /^50000\d{24}$/);
        if (suffix === '03') assert.deepEqual(last?.kind === 'failed' && last.errCode, '40107');
        // 06 and 07: the first call gets no answer in time; the second, under the same number, is answered.
        if (suffix === '06' || suffix === '07') assert.equal(seen[0]?.kind, 'unknown');
        const ledger = sandbox.refunds.refundsOf(outTradeNo);
        assert.equal(ledger.length, 1);
        const states: Record<number, string> = {
          0: 'SUCCESS',
          2: suffix === '03' ? 'NONE' : 'REFUNDCLOSE',
          3: 'CHANGE',
        };
        assert.deepEqual(
          [ledger[0]?.outRefundNo, ledger[0]?.refundFee, ledger[0]?.state],
          [command.out_refund_no, command.refund_fee, states[finalRefundState]],
        );
      }
    });

    it(`${api}: refuses what BlueOcean refuses, and refunds once per refund number`, async () => {
      const ctx = ctxOf(api);
      const outTradeNo = await pay(ctx, 500);
      const command = (fee: number, refundNo = number()): RefundCommand => ({
        out_trade_no: outTradeNo,
        total_fee: 500,
        out_refund_no: refundNo,
        refund_fee: fee,
      });
      const failedWith = (result: RefundResult | undefined) => result?.kind === 'failed' && result.errCode;
      const first = command(300);
      assert.equal((await follow(ctx, first)).at(-1)?.kind, 'refunded');
      // The same number again: the wechat generation takes it as the same refund, the unified one answers
      // 493001 (退款单号重复), and the query finds it refunded. Nothing is refunded twice.
      const again = await follow(ctx, first);
      assert.deepEqual(
        again.map((r) => r.kind),
        ['processing', 'refunded'],
      );
      assert.equal(again[0]?.said, api === 'wechat' ? '200' : '493001');
      assert.equal(sandbox.refunds.refundsOf(outTradeNo).length, 1);
      // More than is left (200): 40100.
      assert.equal(failedWith((await follow(ctx, command(201))).at(-1)), '40100');
      // An order BlueOcean does not know: 40102.
      const unknownOrder = { ...command(100), out_trade_no: number() };
      assert.equal(failedWith((await follow(ctx, unknownOrder)).at(-1)), '40102');
      // Not signed with the account's key: 4004.
      assert.equal(failedWith((await follow(ctxOf(api, 'k'.repeat(32)), command(100))).at(-1)), '4004');
      // An order not paid (the user is still paying), and one reversed.
      const paying = await pay(ctx, 500, '02');
      assert.equal(
        failedWith((await follow(ctx, { ...command(100), out_trade_no: paying })).at(-1)),
        '40100',
      );
      const reversed = await pay(ctx, 500);
      assert.equal(
        (await channel.reverse(ctx, { out_trade_no: reversed, total_fee: 500 }, deadline)).kind,
        'reversed',
      );
      assert.equal(
        failedWith((await follow(ctx, { ...command(100), out_trade_no: reversed })).at(-1)),
        '40104',
      );
      // The rest of the order, then nothing more.
      assert.equal((await follow(ctx, command(200))).at(-1)?.kind, 'refunded');
      assert.equal(failedWith((await follow(ctx, command(1))).at(-1)), '40100');
      assert.deepEqual(
        sandbox.refunds
          .refundsOf(outTradeNo)
          .filter((r) => r.state === 'SUCCESS')
          .map((r) => r.refundFee),
        [300, 200],
      );
    });
  }
});
