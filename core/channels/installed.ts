import { alipay } from '#core/channels/alipay/index.ts';
import { blueocean } from '#core/channels/blueocean/index.ts';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { fshows } from '#core/channels/fshows/index.ts';
import { wechat } from '#core/channels/wechat/index.ts';

/**
 * The channels this gateway speaks: the one place that names them. Everything else (registry, configuration,
 * CDK stack, CLI, finance catalog, local stack) loops over this list; docs/adding-a-channel.md says how to add one.
 */
export const installedChannels: readonly ChannelDescriptor[] = [wechat, alipay, blueocean, fshows];
