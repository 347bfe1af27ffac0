import { existsSync, readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { ChannelAccount, ChannelCredentials } from '#core/channels/channel.ts';
import type { ChannelName } from '#core/channels/registry.ts';
import type { PayType } from '#core/merchants.ts';

/** What `merchant add` learnt about one channel of the merchant from its flags. */
export interface ChannelSetup {
  readonly account: ChannelAccount;
  readonly credentials: ChannelCredentials;
}

/**
 * How `micropay merchant add` onboards a merchant onto one channel: the flags it takes (all prefixed with
 * the channel's name) and how they become the route's account and the secret's credentials. A channel is
 * configured when its `trigger` flag is given; its other required flags are then checked by the
 * channel's own setup check, which names what is missing.
 */
export interface ChannelOnboarding {
  readonly channel: ChannelName;
  /** The pay types this channel can serve. */
  readonly payTypes: readonly PayType[];
  /** The option (commander's camelCase name) whose presence means "configure this channel". */
  readonly trigger: string;
  /** Adds the channel's options to the command. */
  options(command: Command): Command;
  /** Builds account and credentials from the parsed options. */
  setup(opts: Readonly<Record<string, unknown>>): ChannelSetup;
}

/** Reads a key or certificate file for a flag; a missing file is a usage error naming the flag. */
export function readKeyFile(flag: string, file: unknown): string | undefined {
  if (file === undefined) return undefined;
  const path = String(file);
  if (!existsSync(path)) throw new InvalidArgumentError(`${flag}: file ${path} not found`);
  return readFileSync(path, 'utf8');
}

/** Keeps the entries whose value is a non-empty string. */
export function defined(fields: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '',
    ),
  );
}
