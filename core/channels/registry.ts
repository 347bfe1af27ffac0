import type { Channel } from '#core/channels/channel.ts';
import { ChannelHttp } from '#core/channels/http.ts';
import { WechatChannel } from '#core/channels/wechat/wechat.ts';
import type { ChannelRegistry } from '#core/ports.ts';

/** Channel base URLs; production defaults come from the config, sandboxes swap them. */
export interface ChannelEndpoints {
  readonly wechat: string;
  /** A CA to trust beside the public ones for channel TLS (local mode: the sandbox's test CA). */
  readonly extraCaPem?: string;
}

/** The channels this gateway speaks, by name. New channels register here. */
export function channelRegistry(endpoints: ChannelEndpoints): ChannelRegistry {
  const http = new ChannelHttp(endpoints.extraCaPem);
  const channels = new Map<string, Channel>([['wechat', new WechatChannel(endpoints.wechat, http)]]);
  return { get: (name) => channels.get(name) };
}
