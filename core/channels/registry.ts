import type { Channel } from '#core/channels/channel.ts';
import { WechatChannel } from '#core/channels/wechat/wechat.ts';
import type { ChannelRegistry } from '#core/ports.ts';

/** Channel base URLs; production defaults come from the config, sandboxes swap them. */
export interface ChannelEndpoints {
  readonly wechat: string;
}

/** The channels this gateway speaks, by name. New channels register here. */
export function channelRegistry(endpoints: ChannelEndpoints): ChannelRegistry {
  const channels = new Map<string, Channel>([['wechat', new WechatChannel(endpoints.wechat)]]);
  return { get: (name) => channels.get(name) };
}
