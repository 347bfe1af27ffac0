import { isIP } from 'node:net';
// zod/mini, not zod: the classic API (methods, locales, JSON-schema conversion) made up three quarters of
// every Lambda bundle. Every message below is set explicitly, so mini's missing locale is never seen.
import * as z from 'zod/mini';
import { payTypes } from '#core/merchants.ts';

/** What auth codes of each pay type look like (SPEC section 2). */
export const authCodeRules: Readonly<Record<(typeof payTypes)[number], { pattern: RegExp; text: string }>> = {
  'wechat.micro': { pattern: /^1[0-5]\d{16}$/, text: 'a WeChat payment code is 18 digits starting 10-15' },
  'alipay.micro': {
    pattern: /^(2[5-9]|30)\d{14,22}$/,
    text: 'an Alipay payment code is 16-24 digits starting 25-30',
  },
};

/** C0 controls but tab, LF and CR, U+FFFE/U+FFFF and unpaired surrogates: no channel's text can carry them. */
const notText =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly the control characters no channel's text can carry
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const plainText = z.refine<string>(
  (value) => !notText.test(value),
  'must not contain control characters or unpaired surrogates',
);

const text = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(max, `must be at most ${max} characters`),
      plainText,
    );

/** A text limit as WeChat counts it: in bytes of UTF-8 (a Chinese character is 3). */
const utf8 = (max: number) =>
  z.string().check(
    z.minLength(1, 'must not be empty'),
    z.refine((value) => Buffer.byteLength(value, 'utf8') <= max, `must be at most ${max} bytes of UTF-8`),
    plainText,
  );

const notEpochSeconds = 'must be epoch seconds (a 10-digit integer)';

/**
 * Epoch seconds as a number or a string of digits. The input is a union rather than `unknown` so the
 * OpenAPI document can say what to send; anything else gets the same message as a wrong number of digits.
 */
const epochSeconds = z.pipe(
  z.union([z.number(), z.string()], { error: notEpochSeconds }),
  z.transform((value: number | string, ctx) => {
    const digits = String(value);
    const problem = !/^\d+$/.test(digits)
      ? notEpochSeconds
      : digits.length === 13
        ? 'looks like epoch milliseconds (13 digits); send epoch seconds (10 digits)'
        : digits.length !== 10
          ? notEpochSeconds
          : undefined;
    if (problem === undefined) return Number(digits);
    ctx.issues.push({ code: 'custom', message: problem, input: value });
    return z.NEVER;
  }),
);

/** Fields every request carries (`sign` is checked before the schema runs). */
const common = {
  merchant_id: text(32),
  version: z.optional(z.string().check(z.maxLength(8, 'must be at most 8 characters'))),
  sign_type: z.optional(z.string()),
  nonce_str: z.optional(z.string().check(z.maxLength(32, 'must be at most 32 characters'))),
  sign: z.string(),
};

export const micropayRequest = z
  .object({
    ...common,
    pay_type: z.enum(payTypes, { error: `must be one of ${payTypes.join(', ')}` }),
    mch_trade_id: z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9_\-.|*@]{5,32}$/, 'must be 5-32 characters of letters, digits and _ - . | * @'),
      ),
    body: utf8(128),
    subject: z.optional(text(256)),
    total_fee: z
      .number({ error: 'must be an integer number of fen' })
      .check(
        z.int('must be an integer number of fen'),
        z.positive('must be greater than 0'),
        z.maximum(100_000_000_00, 'must be at most 10000000000 fen'),
      ),
    // Which currency a payment may be in is the merchant's route's (CNY, or HKD through BlueOcean): checked at submit.
    fee_type: z.optional(
      z.string().check(z.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code (CNY, HKD, …)')),
    ),
    spbill_create_ip: z.string().check(z.refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address')),
    auth_code: z
      .string({ error: 'must be a string of digits' })
      .check(z.regex(/^\d+$/, 'must be digits only')),
    device_info: z.optional(utf8(32)),
    attach: z.optional(utf8(127)),
    time_start: z.optional(epochSeconds),
    time_expire: z.optional(epochSeconds),
    op_user_id: z.optional(text(32)),
    store_id: z.optional(text(32)),
    op_device_id: z.optional(text(32)),
    goods_tag: z.optional(utf8(32)),
    scene: z.optional(z.enum(['bar_code', 'wave_code'], { error: 'must be bar_code or wave_code' })),
    settle_type: z.optional(z.union([z.literal(0), z.literal(1)], { error: 'must be 0 or 1' })),
  })
  .check(
    z.superRefine((request, ctx) => {
      const rule = authCodeRules[request.pay_type];
      if (!rule.pattern.test(request.auth_code)) {
        ctx.addIssue({
          code: 'custom',
          path: ['auth_code'],
          message: `does not fit ${request.pay_type}: ${rule.text}`,
        });
      }
      if (
        request.time_start !== undefined &&
        request.time_expire !== undefined &&
        request.time_expire <= request.time_start
      ) {
        ctx.addIssue({ code: 'custom', path: ['time_expire'], message: 'must be later than time_start' });
      }
    }),
  );

export type MicropayRequest = z.infer<typeof micropayRequest>;

const tradeId = z.string().check(z.regex(/^[0-9a-f]{24}$/, 'must be 24 lower-case hex characters'));
const mchTradeId = z
  .string()
  .check(z.minLength(1, 'must not be empty'), z.maxLength(32, 'must be at most 32 characters'));

/** `/v1/query` and `/v1/reverse`: one order by `trade_id` or `mch_trade_id` (trade_id wins). */
export const orderRequest = z
  .object({ ...common, trade_id: z.optional(tradeId), mch_trade_id: z.optional(mchTradeId) })
  .check(
    z.refine((r) => r.trade_id !== undefined || r.mch_trade_id !== undefined, {
      path: ['trade_id'],
      message: 'trade_id or mch_trade_id is required',
    }),
  );

export type OrderRequest = z.infer<typeof orderRequest>;

const outRefundNo = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_\-|*@]{5,64}$/, 'must be 5-64 characters of letters, digits and _ - | * @'));

/** `/v1/refund` (SPEC section 8): all or part of a paid order, under the merchant's refund number. */
export const refundRequest = z
  .object({
    ...common,
    trade_id: z.optional(tradeId),
    mch_trade_id: z.optional(mchTradeId),
    out_refund_no: outRefundNo,
    refund_fee: z
      .number({ error: 'must be an integer number of fen' })
      .check(
        z.int('must be an integer number of fen'),
        z.positive('must be greater than 0'),
        z.maximum(100_000_000_00, 'must be at most 10000000000 fen'),
      ),
    refund_desc: z.optional(utf8(80)),
    op_user_id: z.optional(text(32)),
  })
  .check(
    z.refine((r) => r.trade_id !== undefined || r.mch_trade_id !== undefined, {
      path: ['trade_id'],
      message: 'trade_id or mch_trade_id is required',
    }),
  );

export type RefundApiRequest = z.infer<typeof refundRequest>;

/** `/v1/refund/query`: one refund by `refund_id` or `out_refund_no`, or every refund of an order. */
export const refundQueryRequest = z
  .object({
    ...common,
    refund_id: z.optional(tradeId),
    out_refund_no: z.optional(outRefundNo),
    trade_id: z.optional(tradeId),
    mch_trade_id: z.optional(mchTradeId),
  })
  .check(
    z.refine(
      (r) =>
        r.refund_id !== undefined ||
        r.out_refund_no !== undefined ||
        r.trade_id !== undefined ||
        r.mch_trade_id !== undefined,
      { path: ['refund_id'], message: 'refund_id, out_refund_no, trade_id or mch_trade_id is required' },
    ),
  );

export type RefundQueryRequest = z.infer<typeof refundQueryRequest>;

/** Turns the first zod issue into `field: problem`; `input` is what was parsed (to tell missing from wrong). */
export function describeIssue(
  error: z.core.$ZodError,
  input: Readonly<Record<string, unknown>>,
): { field: string; problem: string } {
  const issue = error.issues[0];
  if (!issue) return { field: 'body', problem: 'is invalid' };
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : 'body';
  const given = typeof issue.path[0] === 'string' ? input[issue.path[0]] : input;
  if (issue.code === 'invalid_type' && (given === undefined || given === null))
    return { field, problem: 'is required' };
  if (issue.code === 'invalid_type' && !issue.message.startsWith('must')) {
    return { field, problem: `must be a ${issue.expected}` };
  }
  return { field, problem: issue.message };
}
