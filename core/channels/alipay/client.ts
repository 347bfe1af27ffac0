import type { KeyObject } from 'node:crypto';
import {
  type AlipayExpectation,
  type AlipayMethod,
  type CallOutcome,
  readCancelAnswer,
  readPayAnswer,
  readQueryAnswer,
} from '#core/channels/alipay/answers.ts';
import { alipayRefunds } from '#core/channels/alipay/refunds.ts';
import { alipayStatements } from '#core/channels/alipay/statements.ts';
import {
  maxAnswerBytes,
  readPrivateKey,
  readPublicKey,
  rsa2Sign,
  signingString,
  toForm,
  type WireParams,
} from '#core/channels/alipay/wire.ts';
import type { Channel, ChannelContext, ChannelOrder, SettlementProtocol } from '#core/channels/channel.ts';
import { channelClient } from '#core/channels/kit/client.ts';
import type { ChannelHttp } from '#core/channels/kit/http.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { fenToYuan } from '#core/money.ts';

/** The method of each call: Alipay's reverse is its cancel. */
const methods = {
  pay: 'alipay.trade.pay',
  query: 'alipay.trade.query',
  reverse: 'alipay.trade.cancel',
} as const satisfies Record<string, AlipayMethod>;

/** A parsed key, remembered by its PEM so a warm Lambda parses each merchant's keys once. */
const keyCache = new Map<string, KeyObject | undefined>();

function cachedKey(text: string | undefined, read: (text: string) => KeyObject | undefined) {
  if (!text) return undefined;
  if (!keyCache.has(text)) {
    if (keyCache.size >= 256) keyCache.clear();
    keyCache.set(text, read(text));
  }
  return keyCache.get(text);
}

/**
 * Alipay open platform, bar-code payment (当面付, seed 002). Account: `app_id`, optional `seller_id`. Credentials:
 * `app_private_key_pem` (the application's RSA private key, PKCS#8 or PKCS#1), `alipay_public_key_pem` (Alipay's
 * public key for the app) and, in service-provider mode, `app_auth_token`. Requests are form-encoded POSTs signed
 * RSA2; answers count only when Alipay's signature verifies over the node as sent. `protocol` is the settlement
 * table the stack chose (`ALIPAY_PROTOCOL`). Refunds go through the same call (core/channels/alipay/refunds.ts), and
 * so does the statement's download URL (core/channels/alipay/statements.ts).
 */
export function alipayClient(url: string, http: ChannelHttp, protocol: SettlementProtocol): Channel {
  /**
   * Signs and posts one request; `none` on timeout, network or HTTP error, or an oversize answer, and when the
   * request cannot be signed (no usable private key: nothing was sent, so nothing can have happened).
   */
  const call = async (
    ctx: ChannelContext,
    method: AlipayMethod,
    deadlineMs: number,
    biz: Readonly<Record<string, unknown>>,
  ): Promise<CallOutcome> => {
    const privateKey = cachedKey(ctx.credentials.app_private_key_pem, readPrivateKey);
    if (!privateKey) return { kind: 'none', said: 'NO_PRIVATE_KEY' };
    const params: WireParams = {
      app_id: ctx.account.app_id,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: toUtc8(Date.now(), 'dashed'),
      version: '1.0',
      app_auth_token: ctx.credentials.app_auth_token,
      // JSON.stringify drops the undefined members: optional business fields not given are not sent.
      biz_content: JSON.stringify(biz),
    };
    params.sign = rsa2Sign(signingString(params), privateKey);
    // As Alipay's own SDKs send them: the common parameters in the query string (Alipay reads `charset` there to
    // decode the body; a subject in Chinese must arrive as signed), the business content as the form body.
    const { biz_content, ...common } = params;
    const target = `${url}${url.includes('?') ? '&' : '?'}${toForm(common)}`;
    return http.call(
      target,
      toForm({ biz_content }),
      { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8', accept: 'application/json' },
      { deadlineMs, maxResponseBytes: maxAnswerBytes },
    );
  };
  const channel = channelClient({
    name: 'alipay',
    protocol,
    call,
    targets: () => methods,
    payFields: (ctx, command) => ({
      out_trade_no: command.out_trade_no,
      scene: command.scene ?? 'bar_code',
      auth_code: command.auth_code,
      product_code: 'FACE_TO_FACE_PAYMENT',
      subject: command.subject ?? command.body,
      body: command.body,
      total_amount: fenToYuan(command.total_fee),
      seller_id: ctx.account.seller_id,
      store_id: command.store_id,
      terminal_id: command.op_device_id ?? command.device_info,
      operator_id: command.op_user_id,
      // alipay.trade.pay's current parameters (AlipayTradePayModel, alipay-sdk-java-all, 2024-08-09) document
      // both time_expire (absolute, yyyy-MM-dd HH:mm:ss) and the older timeout_express; time_expire wins.
      time_expire:
        command.time_expire === undefined ? undefined : toUtc8(command.time_expire * 1000, 'dashed'),
    }),
    expectation,
    read: { pay: readPayAnswer, query: readQueryAnswer, reverse: readCancelAnswer },
  });
  const alipayPublicKey = (ctx: ChannelContext) =>
    cachedKey(ctx.credentials.alipay_public_key_pem, readPublicKey);
  return {
    ...channel,
    refunds: alipayRefunds(call, alipayPublicKey),
    statements: alipayStatements(call, alipayPublicKey, http),
  };
}

function expectation(ctx: ChannelContext, order: ChannelOrder): AlipayExpectation {
  return {
    alipayPublicKey: cachedKey(ctx.credentials.alipay_public_key_pem, readPublicKey),
    app_id: ctx.account.app_id ?? '',
    out_trade_no: order.out_trade_no,
    total_fee: order.total_fee,
  };
}
