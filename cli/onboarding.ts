import { existsSync, readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type {
  ChannelAccount,
  ChannelCredentials,
  ChannelDescriptor,
  OnboardingFlag,
} from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import type {
  MerchantProfile,
  MerchantSecret,
  MerchantStatus,
  PayType,
  PayTypeRoute,
} from '#core/merchants.ts';

/** What `merchant add` learnt about one channel of the merchant from its flags. */
export interface ChannelSetup {
  readonly account: ChannelAccount;
  readonly credentials: ChannelCredentials;
}

/**
 * How `micropay merchant add` onboards a merchant onto one channel, made from its descriptor's flags: a channel
 * is configured when its trigger flag is given; its other required flags are then checked by the channel's own
 * setup check, which names what is missing.
 */
export interface ChannelOnboarding {
  readonly channel: string;
  /** The pay types this channel can serve. */
  readonly payTypes: readonly PayType[];
  /** The option (commander's camelCase name) whose presence means "configure this channel". */
  readonly trigger: string;
  /** Adds the channel's options to the command. */
  options(command: Command): Command;
  /** Builds account and credentials from the parsed options. */
  setup(opts: Readonly<Record<string, unknown>>): ChannelSetup;
}

/** The long flag of a commander flag spec (`--wechat-mch-id <mch_id>` → `--wechat-mch-id`). */
const longFlag = (spec: string) => spec.split(/[ ,]/)[0] ?? spec;

/** Commander's attribute name of a long flag (`--wechat-mch-id` → `wechatMchId`). */
const attributeOf = (flag: string) =>
  longFlag(flag)
    .replace(/^--/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The onboarding of one channel, from its descriptor. */
export function onboardingOf(descriptor: ChannelDescriptor): ChannelOnboarding {
  const { flags, trigger } = descriptor.onboarding;
  return {
    channel: descriptor.name,
    payTypes: descriptor.payTypes,
    trigger: attributeOf(trigger),
    options: (command) => {
      for (const flag of flags) command.addOption(optionOf(flag));
      return command;
    },
    setup: (opts) => {
      const account: Record<string, unknown> = {};
      const credentials: Record<string, unknown> = {};
      for (const flag of flags) {
        const given = opts[attributeOf(flag.flag)];
        if (given === undefined || given === flag.implied) continue;
        const value = flag.file ? readKeyFile(longFlag(flag.flag), given) : given;
        const [where, field] = flag.into.split('.') as ['account' | 'credentials', string];
        (where === 'account' ? account : credentials)[field] = value;
      }
      return { account: defined(account), credentials: defined(credentials) };
    },
  };
}

/** Every channel `merchant add` can configure: one per descriptor. */
export function onboardings(
  descriptors: readonly ChannelDescriptor[] = installedChannels,
): ChannelOnboarding[] {
  return descriptors.map(onboardingOf);
}

function optionOf(flag: OnboardingFlag): Option {
  const option = new Option(flag.flag, flag.description);
  if (flag.choices) option.choices(flag.choices);
  if (flag.default !== undefined) option.default(flag.default);
  return option;
}

/** Reads a key or certificate file for a flag; a missing file is a usage error naming the flag. */
export function readKeyFile(flag: string, file: unknown): string | undefined {
  if (file === undefined) return undefined;
  const path = String(file);
  if (!existsSync(path)) throw new InvalidArgumentError(`${flag}: file ${path} not found`);
  return readFileSync(path, 'utf8');
}

/** Keeps the entries whose value is a non-empty string. */
function defined(fields: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '',
    ),
  );
}

/** The profile and secret the flags describe: each configured channel routes the pay types it serves. */
export function merchantFromOptions(
  opts: Record<string, unknown>,
  channels: readonly ChannelOnboarding[] = onboardings(),
): { profile: MerchantProfile; secret: MerchantSecret } {
  const payTypes: Partial<Record<PayType, PayTypeRoute>> = {};
  const credentials: Record<string, ChannelCredentials> = {};
  for (const onboarding of channels) {
    if (opts[onboarding.trigger] === undefined) continue;
    const setup = onboarding.setup(opts);
    credentials[onboarding.channel] = setup.credentials;
    for (const payType of onboarding.payTypes) {
      const taken = payTypes[payType];
      if (taken) {
        throw new InvalidArgumentError(
          `${payType} can be served by one channel only: both ${taken.channel} and ${onboarding.channel} are configured`,
        );
      }
      payTypes[payType] = { channel: onboarding.channel, account: setup.account };
    }
  }
  if (Object.keys(payTypes).length === 0) {
    const triggers = channels.map((o) => `--${o.trigger.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    throw new InvalidArgumentError(`configure at least one channel (${triggers.join(', ')})`);
  }
  return {
    profile: {
      merchant_id: String(opts.id),
      ...(opts.name ? { name: String(opts.name) } : {}),
      status: Number(opts.status) as MerchantStatus,
      pay_types: payTypes,
    },
    secret: { api_key: String(opts.key), channels: credentials },
  };
}
