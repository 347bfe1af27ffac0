import type { Channel, ChannelContext, ChannelOrder, ClientOptions } from '#core/channels/channel.ts';
import { type CallFields, channelClient } from '#core/channels/kit/client.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import {
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
  type WechatExpectation,
} from '#core/channels/wechat/answers.ts';
import { wechatProtocol } from '#core/channels/wechat/protocol.ts';
import { type WechatCall, wechatRefundPaths, wechatRefunds } from '#core/channels/wechat/refunds.ts';
import { wechatStatements } from '#core/channels/wechat/statements.ts';
import { maxXmlBytes, toXml } from '#core/channels/wechat/wire.ts';
import { nonce } from '#core/ids.ts';
import { parseSignType, type SignType, sign } from '#core/signing.ts';

/** The WeChat Pay v2 endpoints this channel calls, relative to the base URL. */
export const wechatPaths = {
  micropay: '/pay/micropay',
  orderquery: '/pay/orderquery',
  reverse: '/secapi/pay/reverse',
  ...wechatRefundPaths,
} as const;

/** The endpoint of each settlement call. */
const paths = { pay: wechatPaths.micropay, query: wechatPaths.orderquery, reverse: wechatPaths.reverse };

/**
 * WeChat Pay v2 micropay (seed 004). Account: `appid`, `mch_id`, optional `sub_appid`, `sub_mch_id`, and
 * `sign_type` (`MD5` default, or `HMAC-SHA256`). Credentials: `api_key` (32 characters) and the API client
 * certificate (`cert_pem`, `key_pem`), which `/secapi/pay/reverse` and `/secapi/pay/refund` require (mutual TLS).
 * Refunds (refunds.ts) and statements (statements.ts) go through the same signing.
 */
export function wechatClient({ url, http }: ClientOptions): Channel {
  const baseUrl = url.replace(/\/+$/, '');
  // Every call signs its fields with the merchant key; /secapi/ ones go with the client certificate (mutual TLS).
  const call: WechatCall = (ctx, path, deadlineMs, fields) => {
    const signType = signTypeOf(ctx);
    const unsigned: CallFields = {
      appid: ctx.account.appid,
      mch_id: ctx.account.mch_id,
      sub_appid: ctx.account.sub_appid,
      sub_mch_id: ctx.account.sub_mch_id,
      nonce_str: nonce(),
      sign_type: signType === 'MD5' ? undefined : signType,
      ...fields,
    };
    const signed = { ...unsigned, sign: sign(unsigned, ctx.credentials.api_key ?? '', signType) };
    const { cert_pem: cert, key_pem: key } = ctx.credentials;
    return http.call(
      `${baseUrl}${path}`,
      toXml(signed),
      { 'content-type': 'text/xml; charset=utf-8' },
      {
        deadlineMs,
        maxResponseBytes: maxXmlBytes,
        certificate: path.startsWith('/secapi/') && cert && key ? { cert, key } : undefined,
      },
    );
  };
  const channel = channelClient({
    name: 'wechat',
    protocol: wechatProtocol,
    call,
    targets: () => paths,
    payFields: (_ctx, command) => ({
      body: command.body,
      attach: command.attach,
      out_trade_no: command.out_trade_no,
      total_fee: command.total_fee,
      fee_type: command.fee_type,
      spbill_create_ip: command.spbill_create_ip,
      goods_tag: command.goods_tag,
      auth_code: command.auth_code,
      device_info: command.device_info,
      time_start: command.time_start === undefined ? undefined : toUtc8(command.time_start * 1000, 'compact'),
      time_expire:
        command.time_expire === undefined ? undefined : toUtc8(command.time_expire * 1000, 'compact'),
    }),
    expectation,
    read: { pay: readPayAnswer, query: readQueryAnswer, reverse: readReverseAnswer },
  });
  const refunds = wechatRefunds(call, (ctx, command) => ({
    ...expectation(ctx, command),
    out_refund_no: command.out_refund_no,
    refund_fee: command.refund_fee,
  }));
  return { ...channel, refunds, statements: wechatStatements(baseUrl, http) };
}

function signTypeOf(ctx: ChannelContext): SignType {
  return parseSignType(ctx.account.sign_type) ?? 'MD5';
}

function expectation(ctx: ChannelContext, order: ChannelOrder): WechatExpectation {
  return {
    key: ctx.credentials.api_key ?? '',
    signType: signTypeOf(ctx),
    appid: ctx.account.appid ?? '',
    mch_id: ctx.account.mch_id ?? '',
    sub_mch_id: ctx.account.sub_mch_id,
    out_trade_no: order.out_trade_no,
    total_fee: order.total_fee,
  };
}
