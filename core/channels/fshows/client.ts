import type { Channel, ChannelContext, ChannelOrder, ClientOptions } from '#core/channels/channel.ts';
import {
  type FshowsExpectation,
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
} from '#core/channels/fshows/answers.ts';
import { fshowsMethods, fshowsProtocol, fshowsVersion } from '#core/channels/fshows/protocol.ts';
import { maxJsonBytes, requestForm } from '#core/channels/fshows/wire.ts';
import { channelClient } from '#core/channels/kit/client.ts';
import { fenToYuan } from '#core/money.ts';

/**
 * fshows (付呗 liquidation platform, seed 003): WeChat barcode payments for the sub-merchants of a
 * liquidator, in CNY, with a fee breakdown. Account: `app_id` (the liquidator's), `store_id` (the
 * sub-merchant's store), optional `sub_appid` and `sub_mch_id`. Credentials: `private_key_pem` (the RSA key
 * requests are signed with) and optional `platform_public_key_pem` (fshows' key, for signed answers).
 */
export function fshowsClient({ url, http }: ClientOptions): Channel {
  return channelClient({
    name: 'fshows',
    protocol: fshowsProtocol,
    call: async (ctx, method: string, deadlineMs, content) => {
      let form: string;
      try {
        form = requestForm(
          {
            app_id: ctx.account.app_id ?? '',
            method,
            version: fshowsVersion,
            // JSON.stringify leaves out the undefined fields: only what is given is sent (and signed).
            content: JSON.stringify(content),
          },
          ctx.credentials.private_key_pem ?? '',
        );
      } catch {
        // An unusable private key (the setup check refuses one): nothing was sent.
        return { kind: 'none', said: 'SIGNING_KEY_UNUSABLE' };
      }
      return http.call(
        url,
        form,
        { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        { deadlineMs, maxResponseBytes: maxJsonBytes },
      );
    },
    targets: () => fshowsMethods,
    payFields: (ctx, command) => ({
      body: command.body,
      out_trade_no: command.out_trade_no,
      total_fee: fenToYuan(command.total_fee),
      spbill_create_ip: command.spbill_create_ip,
      auth_code: command.auth_code,
      store_id: ctx.account.store_id,
      sub_appid: ctx.account.sub_appid,
      goods_tag: command.goods_tag,
      sub_mch_id: ctx.account.sub_mch_id,
    }),
    expectation: (ctx: ChannelContext, order: ChannelOrder): FshowsExpectation => ({
      out_trade_no: order.out_trade_no,
      total_fee: order.total_fee,
      platformPublicKey: ctx.credentials.platform_public_key_pem,
      overTls: url.startsWith('https://'),
    }),
    read: { pay: readPayAnswer, query: readQueryAnswer, reverse: readReverseAnswer },
  });
}
