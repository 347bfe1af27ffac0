import type { Channel, ChannelDescriptor, OrderField } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import type { ChannelRegistry } from '#core/ports.ts';

/** Where each channel is and how it is set, as the configuration read them from the environment. */
export interface ChannelSettings {
  /** Per channel name: its endpoint and its settings (by variable name). */
  readonly channels: Readonly<
    Record<string, { readonly url: string; readonly settings: Readonly<Record<string, string>> }>
  >;
  /** A CA to trust beside the public ones for channel TLS (local mode: the sandboxes' test CA). */
  readonly extraCaPem?: string;
}

/** The clients of `descriptors`, by name, made once with one shared HTTP client. */
export function channelRegistry(
  settings: ChannelSettings,
  descriptors: readonly ChannelDescriptor[] = installedChannels,
): ChannelRegistry {
  const http = new ChannelHttp(settings.extraCaPem);
  const channels = new Map<string, Channel>();
  const fields = new Map<string, readonly OrderField[]>();
  for (const descriptor of descriptors) {
    const own = settings.channels[descriptor.name];
    const url = own?.url ?? descriptor.endpoint.url;
    channels.set(descriptor.name, descriptor.create({ url, http, settings: own?.settings ?? {} }));
    fields.set(descriptor.name, descriptor.orderFields);
  }
  return { get: (name) => channels.get(name), orderFields: (name) => fields.get(name) ?? [] };
}

/** The descriptor of `name` among `descriptors`. */
export function descriptorOf(
  name: string,
  descriptors: readonly ChannelDescriptor[] = installedChannels,
): ChannelDescriptor | undefined {
  return descriptors.find((descriptor) => descriptor.name === name);
}
