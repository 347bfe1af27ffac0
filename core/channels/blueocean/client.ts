import {
  type BlueoceanExpectation,
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
} from '#core/channels/blueocean/answers.ts';
import {
  type BlueoceanApi,
  blueoceanApis,
  blueoceanProtocol,
  defaultBlueoceanApi,
} from '#core/channels/blueocean/protocol.ts';
import { type BlueoceanCall, blueoceanRefunds } from '#core/channels/blueocean/refunds.ts';
import { maxJsonBytes, requestBody } from '#core/channels/blueocean/wire.ts';
import type { Channel, ChannelContext, ChannelOrder, ClientOptions } from '#core/channels/channel.ts';
import { channelClient } from '#core/channels/kit/client.ts';
import { nonce } from '#core/ids.ts';

/**
 * BlueOcean Pay (seed 000): WeChat barcode payments for merchants in Hong Kong (and BlueOcean's other
 * regions), in the account's currency. Account: `appid` (BlueOcean's interface id), `currency` (`HKD` in
 * Hong Kong; the route's currency, which submit enforces), optional `api` (`wechat`, the seed's API and the
 * default, or `unified`) and `mp_appid`. Credentials: `api_key`, the key BlueOcean signs with both ways.
 */
export function blueoceanClient({ url, http }: ClientOptions): Channel {
  const baseUrl = url.replace(/\/+$/, '');
  const call: BlueoceanCall = (ctx, path, deadlineMs, fields) =>
    http.call(
      `${baseUrl}${path}`,
      requestBody({ appid: ctx.account.appid, nonce_str: nonce(), ...fields }, ctx.credentials.api_key ?? ''),
      // BlueOcean asks every client to name itself in User-Agent, for tracing.
      { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'MicropayGateway/1.0' },
      { deadlineMs, maxResponseBytes: maxJsonBytes },
    );
  const channel = channelClient({
    name: 'blueocean',
    protocol: blueoceanProtocol,
    call,
    targets: (ctx) => apiOf(ctx).paths,
    payFields: (ctx, command) => {
      const api = apiOf(ctx);
      return {
        ...api.payFields,
        mp_appid: ctx.account.mp_appid,
        device_info: command.device_info,
        body: command.body,
        attach: command.attach,
        out_trade_no: command.out_trade_no,
        total_fee: command.total_fee,
        spbill_create_ip: command.spbill_create_ip,
        goods_tag: command.goods_tag,
        [api.authCodeField]: command.auth_code,
      };
    },
    expectation: (ctx: ChannelContext, order: ChannelOrder): BlueoceanExpectation => ({
      key: ctx.credentials.api_key ?? '',
      out_trade_no: order.out_trade_no,
      total_fee: order.total_fee,
      currency: ctx.account.currency ?? '',
      overTls: baseUrl.startsWith('https://'),
    }),
    read: { pay: readPayAnswer, query: readQueryAnswer, reverse: readReverseAnswer },
  });
  // Refunds as BlueOcean documents them (refunds.ts, protocol.ts `blueoceanRefundSource`), through the same call.
  return { ...channel, refunds: blueoceanRefunds({ call, overTls: baseUrl.startsWith('https://') }) };
}

function apiOf(ctx: ChannelContext): BlueoceanApi {
  return blueoceanApis[ctx.account.api ?? defaultBlueoceanApi] ?? (blueoceanApis.wechat as BlueoceanApi);
}
