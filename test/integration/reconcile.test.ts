import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, it } from 'vitest';
import { orderKeyOf } from '#adapters/table-order-store.ts';
import { alipay } from '#core/channels/alipay/index.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { wechat } from '#core/channels/wechat/index.ts';
import { orderHash } from '#core/ids.ts';
import { sandboxAlipay, sandboxWechat } from '#sandbox/merchants.ts';
import { runLocalReconcile } from '../../cli/reconcile.ts';
import {
  alipayCode,
  merchantClient,
  orderId,
  payment,
  type SandboxPayType,
  sandboxPayTypes,
  useLocalStack,
  wechatCode,
} from '../support/local.ts';

/**
 * SPEC section 9 end to end in local mode: payments through the gateway, one paid and one reversed at the channel
 * directly (not through the gateway), two orders whose record is changed behind the gateway's back; then
 * `micropay reconcile`'s run fetches the channel sandbox's statement and classes every row. Once on WeChat, once on
 * Alipay (with refunds: one through the gateway, one made at the channel directly), each run under its own root.
 */
describe('reconciliation through the local stack (WeChat and Alipay sandboxes)', () => {
  const stack = useLocalStack();
  const root = mkdtempSync(join(tmpdir(), 'micropay-reconcile-'));
  const alipayRoot = mkdtempSync(join(tmpdir(), 'micropay-reconcile-alipay-'));
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(alipayRoot, { recursive: true, force: true });
  });

  /** Sets fields of an order's record behind the gateway's back. */
  async function tamper(tradeId: string, set: string, values: Record<string, unknown>, names = {}) {
    const client = merchantClient(stack(), 0);
    const found = await client.query({ trade_id: tradeId });
    const mchTradeId = String(found.envelope.data?.mch_trade_id);
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(stack().clientConfig('dynamodb')));
    await doc.send(
      new UpdateCommand({
        TableName: stack().env.ORDERS_TABLE,
        Key: { order_key: orderKeyOf('M100000001', orderHash('M100000001', mchTradeId)) },
        UpdateExpression: `SET ${set}`,
        ExpressionAttributeValues: values,
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
      }),
    );
    doc.destroy();
  }

  it('classes matched, missing_local, missing_channel, amount_mismatch and state_mismatch', async () => {
    const client = merchantClient(stack(), 0);
    const paid = async () => String((await client.micropay(payment('00'))).envelope.data?.trade_id);
    const matched = await paid();
    const reversedThere = await paid();
    const amountChanged = await paid();
    // Refused by the channel, then recorded paid behind the gateway's back: the channel never took it.
    const refused = await client.micropay(payment('03'));
    const notThere = String(refused.envelope.data?.trade_id);
    // A refund through the gateway, followed to its end.
    const refund = await client.refund({ trade_id: matched, out_refund_no: `rc-${matched}`, refund_fee: 30 });
    const refundId = String(refund.envelope.data?.refund_id);
    await stack().stepFunctions.idle();

    // At the channel directly, with the account's own keys: a payment the gateway never saw, and a reverse.
    const channel = wechat.create({
      url: stack().sandbox('wechat').url,
      http: new ChannelHttp(stack().pki.caPem),
    });
    const ctx = {
      account: sandboxWechat.account,
      credentials: stack().merchantSecrets.M100000001?.channels.wechat ?? {},
    };
    const stranger = `${Date.now().toString(16)}`.padStart(24, 'f').slice(-24);
    const direct = await channel.pay(
      ctx,
      {
        out_trade_no: stranger,
        total_fee: 77,
        auth_code: wechatCode('00'),
        body: 'direct',
        spbill_create_ip: '10.0.0.9',
      },
      5_000,
    );
    assert.equal(direct.kind, 'paid');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reversed = await channel.reverse(ctx, { out_trade_no: reversedThere, total_fee: 101 }, 5_000);
    assert.equal(reversed.kind, 'reversed');
    // A refund made at the channel directly, under a number the gateway never gave.
    const strangeRefund = `${stranger.slice(0, 20)}rfnd`;
    const directRefund = await channel.refunds?.refund(
      ctx,
      { out_trade_no: amountChanged, total_fee: 101, out_refund_no: strangeRefund, refund_fee: 20 },
      5_000,
    );
    assert.equal(directRefund?.kind, 'processing');

    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(stack().clientConfig('dynamodb')));
    const orders = await Promise.all(
      [amountChanged, notThere].map(async (tradeId) => {
        const found = await client.query({ trade_id: tradeId });
        return String(found.envelope.data?.mch_trade_id);
      }),
    );
    const keyOf = (mchTradeId: string) => ({
      order_key: orderKeyOf('M100000001', orderHash('M100000001', mchTradeId)),
    });
    await doc.send(
      new UpdateCommand({
        TableName: stack().env.ORDERS_TABLE,
        Key: keyOf(orders[0] as string),
        UpdateExpression: 'SET total_fee = :fee',
        ExpressionAttributeValues: { ':fee': 102 },
      }),
    );
    await doc.send(
      new UpdateCommand({
        TableName: stack().env.ORDERS_TABLE,
        Key: keyOf(orders[1] as string),
        UpdateExpression: 'SET #s = :paid, trade_state = :zero, paid_at = :now',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':paid': 'PAID', ':zero': 0, ':now': new Date().toISOString() },
      }),
    );

    const day = toUtc8(Date.now(), 'dashed').slice(0, 10);
    const run = await runLocalReconcile({ env: stack().env, root, billDate: day, withMatched: true });
    // The counts per class are the rows' own.
    for (const [name, { rows }] of Object.entries(run.classes)) {
      assert.equal(rows, run.discrepancies.rows.filter((r) => r.class === name).length, name);
    }
    const wechatAccount = run.accounts.find((a) => a.channel === 'wechat');
    assert.equal(wechatAccount?.result.kind, 'fetched');
    for (const partner of run.accounts.filter((a) => a.channel === 'blueocean' || a.channel === 'fshows')) {
      assert.equal(partner.result.kind, 'no_statement', partner.channel);
    }
    const classOf = (tradeId: string) =>
      run.discrepancies.rows
        .filter((r) => r.out_trade_no === tradeId && r.kind === 'pay')
        .map((r) => r.class);
    assert.deepEqual(classOf(matched), ['matched']);
    assert.deepEqual(classOf(stranger), ['missing_local']);
    assert.deepEqual(classOf(notThere), ['missing_channel']);
    assert.deepEqual(classOf(amountChanged), ['amount_mismatch']);
    assert.deepEqual(classOf(reversedThere), ['state_mismatch']);
    // Refunds are matched on the number the channel knows: our refund_id.
    const refundClass = (number: string) =>
      run.discrepancies.rows.filter((r) => r.kind === 'refund' && r.refund_id === number).map((r) => r.class);
    assert.deepEqual(refundClass(refundId), ['matched']);
    assert.deepEqual(refundClass(strangeRefund), ['missing_local']);
    const row = run.discrepancies.rows.find((r) => r.out_trade_no === stranger);
    assert.equal(Number(row?.channel_fee), 77);
    assert.equal(row?.merchant_id, 'M100000001');

    // A day whose statement is not out yet is said so, never reported as missing rows.
    const tomorrow = toUtc8(Date.now() + 86_400_000, 'dashed').slice(0, 10);
    const early = await runLocalReconcile({ env: stack().env, root, billDate: tomorrow });
    assert.equal(early.accounts.find((a) => a.channel === 'wechat')?.result.kind, 'not_published');
    assert.deepEqual(
      early.discrepancies.rows.filter((r) => r.channel === 'wechat'),
      [],
    );
  });

  it('on Alipay too: every class, payments and refunds, from the zip the sandbox serves', async () => {
    const client = merchantClient(stack(), 0);
    const payType = sandboxPayTypes.find((p) => p.channel === 'alipay') as SandboxPayType;
    const paid = async (totalFee = 101) => {
      const { envelope } = await client.micropay(payment('00', { total_fee: totalFee }, payType));
      assert.equal(envelope.code, 0, JSON.stringify(envelope));
      return String(envelope.data?.trade_id);
    };
    const [matched, reversedThere, amountChanged, refundedHere, refundedThere] = await Promise.all([
      paid(),
      paid(),
      paid(),
      paid(1000),
      paid(1000),
    ]);
    // Refused by Alipay, then recorded paid behind the gateway's back: Alipay never took it.
    const refused = await client.micropay(payment('03', {}, payType));
    assert.equal(refused.envelope.code, 600);
    const notThere = String(refused.envelope.data?.trade_id);
    const refund = await client.refund({
      trade_id: refundedHere,
      out_refund_no: orderId('AR'),
      refund_fee: 300,
    });
    assert.equal(refund.envelope.code, 0, JSON.stringify(refund.envelope));
    const refundId = String(refund.envelope.data?.refund_id);
    await stack().stepFunctions.idle();

    // At Alipay directly, with the account's own keys: a payment and a refund the gateway never saw, and a cancel.
    const channel = alipay.create({
      url: stack().sandbox('alipay').url,
      http: new ChannelHttp(stack().pki.caPem),
    });
    const ctx = {
      account: sandboxAlipay.account,
      credentials: stack().merchantSecrets.M100000001?.channels.alipay ?? {},
    };
    const stranger = `${Date.now().toString(16)}`.padStart(24, 'e').slice(-24);
    const direct = await channel.pay(
      ctx,
      {
        out_trade_no: stranger,
        total_fee: 77,
        auth_code: alipayCode('00'),
        body: 'direct',
        spbill_create_ip: '10.0.0.9',
      },
      5_000,
    );
    assert.equal(direct.kind, 'paid');
    const cancelled = await channel.reverse(ctx, { out_trade_no: reversedThere, total_fee: 101 }, 5_000);
    assert.deepEqual(
      [cancelled.kind, cancelled.kind === 'reversed' && cancelled.action],
      ['reversed', 'refund'],
    );
    const directRefundNo = `direct${Date.now().toString(16)}`;
    const refundThere = await channel.refunds?.refund(
      ctx,
      { out_trade_no: refundedThere, total_fee: 1000, out_refund_no: directRefundNo, refund_fee: 200 },
      5_000,
    );
    assert.equal(refundThere?.kind, 'refunded');

    await tamper(amountChanged, 'total_fee = :fee', { ':fee': 102 });
    await tamper(
      notThere,
      '#s = :paid, trade_state = :zero, paid_at = :now',
      { ':paid': 'PAID', ':zero': 0, ':now': new Date().toISOString() },
      { '#s': 'state' },
    );

    const day = toUtc8(Date.now(), 'dashed').slice(0, 10);
    const run = await runLocalReconcile({
      env: stack().env,
      root: alipayRoot,
      billDate: day,
      withMatched: true,
    });
    const account = run.accounts.find((a) => a.channel === 'alipay');
    assert.deepEqual(
      [account?.account, account?.result.kind],
      [`${sandboxAlipay.account.app_id}/${sandboxAlipay.account.seller_id}`, 'fetched'],
    );
    const classOf = (tradeId: string, kind: 'pay' | 'refund' = 'pay') =>
      run.discrepancies.rows
        .filter((r) => r.channel === 'alipay' && r.out_trade_no === tradeId && r.kind === kind)
        .map((r) => r.class);
    assert.deepEqual(classOf(matched), ['matched']);
    assert.deepEqual(classOf(stranger), ['missing_local']);
    assert.deepEqual(classOf(notThere), ['missing_channel']);
    assert.deepEqual(classOf(amountChanged), ['amount_mismatch']);
    assert.deepEqual(classOf(reversedThere), ['state_mismatch']);
    assert.deepEqual(classOf(refundedHere), ['matched']);
    assert.deepEqual(classOf(refundedHere, 'refund'), ['matched']);
    assert.deepEqual(classOf(refundedThere), ['matched']);
    assert.deepEqual(classOf(refundedThere, 'refund'), ['missing_local']);
    const row = (tradeId: string, kind: string) =>
      run.discrepancies.rows.find(
        (r) => r.channel === 'alipay' && r.out_trade_no === tradeId && r.kind === kind,
      );
    assert.deepEqual(
      [row(refundedHere, 'refund')?.refund_id, Number(row(refundedHere, 'refund')?.channel_fee)],
      [refundId, 300],
    );
    assert.deepEqual(
      [row(refundedThere, 'refund')?.refund_id, Number(row(refundedThere, 'refund')?.channel_fee)],
      [directRefundNo, 200],
    );
    assert.deepEqual(
      [row(reversedThere, 'pay')?.local_state, row(reversedThere, 'pay')?.channel_state],
      ['paid', 'reversed'],
    );
    assert.deepEqual(
      [Number(row(amountChanged, 'pay')?.local_fee), Number(row(amountChanged, 'pay')?.channel_fee)],
      [102, 101],
    );
    assert.equal(row(stranger, 'pay')?.merchant_id, 'M100000001');

    // A day whose statement Alipay has not made is said so, never reported as missing rows.
    const tomorrow = toUtc8(Date.now() + 86_400_000, 'dashed').slice(0, 10);
    const early = await runLocalReconcile({ env: stack().env, root: alipayRoot, billDate: tomorrow });
    assert.deepEqual(
      early.accounts.filter((a) => a.channel === 'alipay').map((a) => a.result),
      [{ kind: 'not_published', said: 'isp.bill_not_exist' }],
    );
    assert.deepEqual(
      early.discrepancies.rows.filter((r) => r.channel === 'alipay'),
      [],
    );
  });
});
