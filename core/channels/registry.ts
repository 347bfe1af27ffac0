import { AlipayChannel } from '#core/channels/alipay/alipay.ts';
import { type AlipayProtocolName, alipayProtocols } from '#core/channels/alipay/protocol.ts';
import { BlueoceanChannel } from '#core/channels/blueocean/blueocean.ts';
import type { Channel } from '#core/channels/channel.ts';
import { FshowsChannel } from '#core/channels/fshows/fshows.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { WechatChannel } from '#core/channels/wechat/wechat.ts';
import type { ChannelRegistry } from '#core/ports.ts';

/** The channels this gateway can speak, by the name merchant routes use. */
export const channelNames = ['wechat', 'alipay', 'blueocean', 'fshows'] as const;
export type ChannelName = (typeof channelNames)[number];

/** Each channel's production endpoint (SPEC section 4 and the channel documents). */
export const defaultChannelUrls: Readonly<Record<ChannelName, string>> = {
  wechat: 'https://api.mch.weixin.qq.com',
  alipay: 'https://openapi.alipay.com/gateway.do',
  blueocean: 'https://api.hk.blueoceanpay.com',
  fshows: 'https://openapi-liquidation.51fubei.com/gateway',
};

/** The environment variable that sets each channel's endpoint (the stack sets them; local mode points them at sandboxes). */
export const channelUrlVariables: Readonly<Record<ChannelName, string>> = {
  wechat: 'WECHAT_BASE_URL',
  alipay: 'ALIPAY_GATEWAY_URL',
  blueocean: 'BLUEOCEAN_BASE_URL',
  fshows: 'FSHOWS_GATEWAY_URL',
};

/** Channel endpoints; production defaults come from the config, sandboxes swap them. */
export interface ChannelEndpoints {
  readonly urls: Readonly<Record<ChannelName, string>>;
  /** A CA to trust beside the public ones for channel TLS (local mode: the sandbox's test CA). */
  readonly extraCaPem?: string;
  /** Which Alipay protocol table settlement follows (`ALIPAY_PROTOCOL`). @default 'seed' */
  readonly alipayProtocol?: AlipayProtocolName;
}

/** How each channel is built from its endpoint and the shared HTTP client. New channels register here. */
const factories: Partial<
  Record<ChannelName, (url: string, http: ChannelHttp, endpoints: ChannelEndpoints) => Channel>
> = {
  wechat: (url, http) => new WechatChannel(url, http),
  alipay: (url, http, { alipayProtocol }) =>
    new AlipayChannel(url, http, alipayProtocols[alipayProtocol ?? 'seed']),
  blueocean: (url, http) => new BlueoceanChannel(url, http),
  fshows: (url, http) => new FshowsChannel(url, http),
};

/** The channels this gateway speaks, by name. */
export function channelRegistry(endpoints: ChannelEndpoints): ChannelRegistry {
  const http = new ChannelHttp(endpoints.extraCaPem);
  const channels = new Map<string, Channel>();
  for (const name of channelNames) {
    const make = factories[name];
    if (make) channels.set(name, make(endpoints.urls[name], http, endpoints));
  }
  return { get: (name) => channels.get(name) };
}

/** A registry for setup checks only (`merchant add`): the channels' checks need no endpoint. */
export function setupRegistry(): ChannelRegistry {
  return channelRegistry({ urls: defaultChannelUrls });
}
