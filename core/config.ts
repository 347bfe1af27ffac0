import * as z from 'zod/mini';
import { alipayProtocolNames } from '#core/channels/alipay/protocol.ts';
import { type ChannelEndpoints, defaultChannelUrls } from '#core/channels/registry.ts';

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

/** Runtime configuration, read from the environment once at cold start. */
const schema = z.object({
  /** Set by Lambda (and local mode). */
  AWS_REGION: required,
  /** DynamoDB's endpoint when it is not the region's (local mode: DynamoDB Local). */
  AWS_ENDPOINT_URL_DYNAMODB: z.optional(z.url({ error: 'must be a URL' })),
  ORDERS_TABLE: required,
  /** Settlement wake-ups: how the sweep finds orders whose lease ran out (`adapters/dynamo-orders.ts`). */
  WAKEUPS_TABLE: required,
  MERCHANTS_TABLE: required,
  SETTLEMENT_STATE_MACHINE_ARN: required,
  MERCHANT_SECRET_PREFIX: z._default(required, 'micropay/merchants/'),
  WECHAT_BASE_URL: url(defaultChannelUrls.wechat),
  ALIPAY_GATEWAY_URL: url(defaultChannelUrls.alipay),
  BLUEOCEAN_BASE_URL: url(defaultChannelUrls.blueocean),
  FSHOWS_GATEWAY_URL: url(defaultChannelUrls.fshows),
  /** Alipay's settlement table: `seed` (seed 002: 6 queries 5 s apart) or `guidance` (Alipay's: 3–6 s for ~60 s). */
  ALIPAY_PROTOCOL: z._default(
    z.enum(alipayProtocolNames, { error: `must be one of ${alipayProtocolNames.join(', ')}` }),
    'seed',
  ),
  /** PEM of a CA trusted beside the public ones for channel TLS; local mode sets its sandbox's test CA. */
  CHANNEL_EXTRA_CA_PEM: z.optional(z.string()),
  /** Multiplies every protocol wait (and, unless MICROPAY_DEADLINE_SCALE is set, every channel deadline); below 1 only makes sense against a sandbox. */
  MICROPAY_TIME_SCALE: z._default(
    number((n) => n > 0 && n <= 1, 'must be a number in (0, 1]'),
    1,
  ),
  /** Multiplies every channel call's deadline; MICROPAY_TIME_SCALE when absent. */
  MICROPAY_DEADLINE_SCALE: z.optional(number((n) => n > 0 && n <= 1, 'must be a number in (0, 1]')),
  /** Slack after a planned settlement step before the sweep considers the settlement dead. */
  SETTLEMENT_LEASE_GRACE_MS: z._default(
    number((n) => Number.isInteger(n) && n >= 0, 'must be a whole number of milliseconds'),
    60_000,
  ),
  /** Seconds merchant profiles and secrets are cached. */
  MERCHANT_CACHE_SECONDS: z._default(
    number((n) => Number.isInteger(n) && n >= 0, 'must be a whole number of seconds'),
    120,
  ),
});

export type Config = Readonly<z.infer<typeof schema>>;

/** Parses the environment; a missing or malformed variable fails start-up with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = z.safeParse(schema, env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      const message = issue.code === 'invalid_type' ? 'is required' : issue.message;
      return `${name}: ${message}`;
    });
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}

/** The channel endpoints the configuration names. */
export function channelEndpoints(config: Config): ChannelEndpoints {
  return {
    urls: {
      wechat: config.WECHAT_BASE_URL,
      alipay: config.ALIPAY_GATEWAY_URL,
      blueocean: config.BLUEOCEAN_BASE_URL,
      fshows: config.FSHOWS_GATEWAY_URL,
    },
    extraCaPem: config.CHANNEL_EXTRA_CA_PEM,
    alipayProtocol: config.ALIPAY_PROTOCOL,
  };
}
