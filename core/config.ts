import * as z from 'zod/mini';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import type { ChannelSettings } from '#core/channels/registry.ts';

const number = (check: (n: number) => boolean, message: string) =>
  z.pipe(
    z.string(),
    z.transform((text, ctx) => {
      const value = Number(text);
      if (text.trim() !== '' && Number.isFinite(value) && check(value)) return value;
      ctx.issues.push({ code: 'custom', message, input: text });
      return z.NEVER;
    }),
  );

const required = z.string().check(z.minLength(1, 'is required'));
const url = (fallback: string) => z._default(z.url({ error: 'must be a URL' }), fallback);

/** Where merchants are: the profiles' table and the secrets' prefix, both cached. */
const merchantFields = {
  MERCHANTS_TABLE: required,
  MERCHANT_SECRET_PREFIX: z._default(required, 'micropay/merchants/'),
  /** Seconds merchant profiles and secrets are cached. */
  MERCHANT_CACHE_SECONDS: z._default(
    number((n) => Number.isInteger(n) && n >= 0, 'must be a whole number of seconds'),
    120,
  ),
};

/** How channels are called, beside each channel's own endpoint and settings. */
const channelFields = {
  /** PEM of a CA trusted beside the public ones for channel TLS; local mode sets its sandbox's test CA. */
  CHANNEL_EXTRA_CA_PEM: z.optional(z.string()),
  /** Multiplies every channel call's deadline; MICROPAY_TIME_SCALE when absent. */
  MICROPAY_DEADLINE_SCALE: z.optional(number((n) => n > 0 && n <= 1, 'must be a number in (0, 1]')),
};

/** Runtime configuration, read from the environment once at cold start. */
const schema = z.object({
  /** Set by Lambda (and local mode). */
  AWS_REGION: required,
  /** DynamoDB's endpoint when it is not the region's (local mode: DynamoDB Local). */
  AWS_ENDPOINT_URL_DYNAMODB: z.optional(z.url({ error: 'must be a URL' })),
  ORDERS_TABLE: required,
  /** Settlement wake-ups: how the sweep finds orders whose lease ran out (`adapters/dynamo-orders.ts`). */
  WAKEUPS_TABLE: required,
  SETTLEMENT_STATE_MACHINE_ARN: required,
  ...merchantFields,
  ...channelFields,
  /** Multiplies every protocol wait (and, unless MICROPAY_DEADLINE_SCALE is set, every channel deadline); below 1 only makes sense against a sandbox. */
  MICROPAY_TIME_SCALE: z._default(
    number((n) => n > 0 && n <= 1, 'must be a number in (0, 1]'),
    1,
  ),
  /** Slack after a planned settlement step before the sweep considers the settlement dead. */
  SETTLEMENT_LEASE_GRACE_MS: z._default(
    number((n) => Number.isInteger(n) && n >= 0, 'must be a whole number of milliseconds'),
    60_000,
  ),
});

/** The runtime configuration: the gateway's own variables, and each channel's endpoint and settings. */
export type Config = Readonly<z.infer<typeof schema>> & { readonly channels: ChannelSettings['channels'] };

/**
 * Each channel's variables, from its descriptor: its endpoint (a URL, the production one by default) and its
 * settings (one of the values it lists, the first by default).
 */
function channelVariables(descriptors: readonly ChannelDescriptor[]) {
  const shape: Record<string, z.ZodMiniType<string, unknown>> = {};
  for (const { endpoint, settings } of descriptors) {
    shape[endpoint.variable] = url(endpoint.url);
    for (const [name, { values }] of Object.entries(settings ?? {})) {
      shape[name] = z._default(z.enum(values, { error: `must be one of ${values.join(', ')}` }), values[0]);
    }
  }
  return z.object(shape);
}

/** Parses the environment; a missing or malformed variable fails start-up with its name. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  descriptors: readonly ChannelDescriptor[] = installedChannels,
): Config {
  return parseWithChannels(schema, env, descriptors);
}

/**
 * The configuration of the reconciliation functions (functions/reconcile/): each reads what it uses and is
 * refused at start-up without it. `merchants`: the merchants table and secrets, and the channels (every
 * channel's variables); `bucket`: the exports bucket the statements are kept in.
 */
export function loadReconcileConfig<const M extends boolean, const B extends boolean>(
  env: NodeJS.ProcessEnv,
  needs: { readonly merchants: M; readonly bucket: B },
  descriptors: readonly ChannelDescriptor[] = installedChannels,
): ReconcileConfig<M, B> {
  const shape = {
    AWS_REGION: required,
    ...(needs.merchants ? { ...merchantFields, ...channelFields } : {}),
    ...(needs.bucket ? { STATEMENTS_BUCKET: required } : {}),
  };
  return parseWithChannels(z.object(shape), env, needs.merchants ? descriptors : []) as never;
}

type MerchantConfig = z.infer<ReturnType<typeof z.object<typeof merchantFields & typeof channelFields>>>;
/** What `loadReconcileConfig` read: the region, and what `needs` asked for. */
export type ReconcileConfig<M extends boolean, B extends boolean> = Readonly<
  { AWS_REGION: string } & (M extends true
    ? MerchantConfig & { readonly channels: ChannelSettings['channels'] }
    : object) &
    (B extends true ? { STATEMENTS_BUCKET: string } : object)
>;

/** Parses `env` with `own` and each channel's variables, naming every variable missing or malformed at once. */
function parseWithChannels<S extends z.ZodMiniObject>(
  own: S,
  env: NodeJS.ProcessEnv,
  descriptors: readonly ChannelDescriptor[],
): Readonly<z.infer<S>> & { readonly channels: ChannelSettings['channels'] } {
  const parsed = z.safeParse(own, env);
  const channels = z.safeParse(channelVariables(descriptors), env);
  const issues = [
    ...(parsed.success ? [] : parsed.error.issues),
    ...(channels.success ? [] : channels.error.issues),
  ];
  if (!parsed.success || !channels.success) {
    const problems = issues.map((issue) => {
      const name = issue.path.join('.');
      const message = issue.code === 'invalid_type' ? 'is required' : issue.message;
      return `${name}: ${message}`;
    });
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  const values = channels.data as Readonly<Record<string, string>>;
  const perChannel = Object.fromEntries(
    descriptors.map(({ name, endpoint, settings }) => [
      name,
      {
        url: values[endpoint.variable] ?? endpoint.url,
        settings: Object.fromEntries(Object.keys(settings ?? {}).map((key) => [key, values[key] ?? ''])),
      },
    ]),
  );
  return Object.freeze({ ...(parsed.data as z.infer<S>), channels: perChannel });
}

/** The channel endpoints and settings the configuration names. */
export function channelSettings(config: Pick<Config, 'channels' | 'CHANNEL_EXTRA_CA_PEM'>): ChannelSettings {
  return { channels: config.channels, extraCaPem: config.CHANNEL_EXTRA_CA_PEM };
}
