import { z } from 'zod';

/** Runtime configuration, read from the environment once at cold start. */
const schema = z.object({
  ORDERS_TABLE: z.string().min(1),
  MERCHANTS_TABLE: z.string().min(1),
  SETTLEMENT_STATE_MACHINE_ARN: z.string().min(1),
  MERCHANT_SECRET_PREFIX: z.string().min(1).default('micropay/merchants/'),
  WECHAT_BASE_URL: z.url().default('https://api.mch.weixin.qq.com'),
  /** PEM of a CA trusted beside the public ones for channel TLS; local mode sets its sandbox's test CA. */
  CHANNEL_EXTRA_CA_PEM: z.string().optional(),
  /** Multiplies every protocol wait and channel deadline; below 1 only makes sense against a sandbox. */
  MICROPAY_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
  /** Slack after a planned settlement step before the sweep considers the settlement dead. */
  SETTLEMENT_LEASE_GRACE_MS: z.coerce.number().int().min(0).default(60_000),
  /** Seconds merchant profiles and secrets are cached. */
  MERCHANT_CACHE_SECONDS: z.coerce.number().int().min(0).default(120),
});

export type Config = Readonly<z.infer<typeof schema>>;

/** Parses the environment; a missing or malformed variable fails start-up with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}
