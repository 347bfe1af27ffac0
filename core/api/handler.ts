import * as z from 'zod/mini';
import {
  describeIssue,
  type MicropayRequest,
  micropayRequest,
  type OrderRequest,
  orderRequest,
  type RefundApiRequest,
  type RefundQueryRequest,
  refundQueryRequest,
  refundRequest,
} from '#core/api/requests.ts';
import { ApiCode, type ApiCodeValue, ApiError } from '#core/errors.ts';
import type { Merchant } from '#core/merchants.ts';
import { type Order, toMerchantView } from '#core/orders/order.ts';
import { findOrder, reverseOrder } from '#core/payments/orders.ts';
import { submitPayment } from '#core/payments/submit.ts';
import type { Ports } from '#core/ports.ts';
import { type Refund, refundedFee, toRefundView } from '#core/refunds/refund.ts';
import { findRefunds, submitRefund } from '#core/refunds/submit.ts';
import { parseSignType, type SignType, sign, verify } from '#core/signing.ts';

/** Largest request body accepted; a POS request is well under 2 KB. */
export const maxBodyBytes = 32 * 1024;

/** Deepest nesting of objects and arrays accepted (a goods `detail` needs 4); checked before anything recursive runs. */
export const maxNesting = 16;

export type Operation = 'micropay' | 'query' | 'reverse' | 'refund' | 'refund_query';

/** The response envelope of every API call (SPEC section 2). */
export interface Envelope {
  code: ApiCodeValue;
  msg: string | null;
  data?: Record<string, unknown>;
  err_code?: string;
  err_msg?: string;
  version: '1.0';
  sign_type?: SignType;
  sign?: string;
}

/** Who the request is from, once known: responses are signed with that merchant's key. */
interface Caller {
  merchant?: Merchant;
  signType: SignType;
  merchantId?: string;
  tradeId?: string;
}

const messages: Partial<Record<ApiCodeValue, string>> = {
  [ApiCode.channelTimeout]: 'the channel did not answer in time; the outcome is being settled automatically',
};

/**
 * Handles one API request end to end and always answers with an envelope: bad input gets its code and
 * changes nothing; anything unexpected becomes code 500 with nothing internal revealed.
 */
export async function handleApiRequest(
  ports: Ports,
  operation: Operation,
  rawBody: string,
): Promise<Envelope> {
  const caller: Caller = { signType: 'MD5' };
  try {
    const fields = await authenticate(ports, rawBody, caller);
    const merchant = caller.merchant as Merchant;
    if (operation === 'micropay') {
      const request = validate(micropayRequest, fields) as MicropayRequest;
      checkMerchantMay(merchant, request.pay_type);
      const outcome = await submitPayment(ports, merchant, request);
      caller.tradeId = outcome.order.trade_id;
      return respond(ports, caller, outcome.code, outcome.order);
    }
    if (operation === 'refund') {
      const request = validate(refundRequest, fields) as RefundApiRequest;
      checkMerchantMay(merchant);
      const outcome = await submitRefund(ports, merchant, request);
      caller.tradeId = outcome.order.trade_id;
      return respondRefund(caller, outcome.code, outcome.order, outcome.refund);
    }
    if (operation === 'refund_query') {
      const request = validate(refundQueryRequest, fields) as RefundQueryRequest;
      checkMerchantMay(merchant);
      const found = await findRefunds(ports, request);
      caller.tradeId = found.order.trade_id;
      if (found.one) return respondRefund(caller, ApiCode.ok, found.order, found.refunds[0] as Refund);
      return envelope(caller, ApiCode.ok, null, {
        merchant_id: found.order.merchant_id,
        trade_id: found.order.trade_id,
        mch_trade_id: found.order.mch_trade_id,
        total_fee: found.order.total_fee,
        refunded_fee: refundedFee(found.refunds),
        refunds: found.refunds.map((refund) => toRefundView(found.order, refund)),
      });
    }
    const request = validate(orderRequest, fields) as OrderRequest;
    checkMerchantMay(merchant);
    let order = await findOrder(ports, request);
    caller.tradeId = order.trade_id;
    if (operation === 'reverse') order = await reverseOrder(ports, order);
    return respond(ports, caller, ApiCode.ok, order);
  } catch (error) {
    if (error instanceof ApiError) return envelope(caller, error.code, error.message);
    ports.log.error('request failed', {
      operation,
      merchant_id: caller.merchantId,
      trade_id: caller.tradeId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return envelope(caller, ApiCode.internal, 'internal error; if an order was created it is being settled');
  }
}

/** Parses the body, finds the merchant and verifies the signature. */
async function authenticate(ports: Ports, rawBody: string, caller: Caller): Promise<Record<string, unknown>> {
  if (Buffer.byteLength(rawBody, 'utf8') > maxBodyBytes) {
    throw new ApiError(ApiCode.invalidParameter, `body: larger than ${maxBodyBytes} bytes`);
  }
  if (nestingDepth(rawBody, maxNesting) > maxNesting) {
    throw new ApiError(ApiCode.invalidParameter, `body: nested deeper than ${maxNesting} levels`);
  }
  let fields: unknown;
  try {
    fields = JSON.parse(rawBody);
  } catch {
    throw new ApiError(ApiCode.invalidParameter, 'body: not valid JSON');
  }
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
    throw new ApiError(ApiCode.invalidParameter, 'body: must be a JSON object');
  }
  const record = fields as Record<string, unknown>;
  const signType = parseSignType(record.sign_type);
  if (!signType) throw new ApiError(ApiCode.invalidParameter, 'sign_type: must be MD5 or HMAC-SHA256');
  caller.signType = signType;
  const merchantId = record.merchant_id;
  if (merchantId === undefined || merchantId === null || merchantId === '') {
    throw new ApiError(ApiCode.invalidParameter, 'merchant_id: is required');
  }
  if (typeof merchantId !== 'string' || merchantId.length > 32) {
    throw new ApiError(ApiCode.invalidParameter, 'merchant_id: must be a string of at most 32 characters');
  }
  const merchant = await ports.merchants.get(merchantId);
  if (!merchant) throw new ApiError(ApiCode.merchantNotFound, 'merchant does not exist; check merchant_id');
  caller.merchant = merchant;
  caller.merchantId = merchantId;
  if (typeof record.sign !== 'string' || record.sign === '') {
    throw new ApiError(ApiCode.invalidParameter, 'sign: is required');
  }
  if (!verify(record, merchant.secret.api_key, signType)) {
    throw new ApiError(ApiCode.badSignature, 'sign: signature does not verify');
  }
  return withoutEmpty(record);
}

/**
 * The signature leaves out fields whose value is null or empty, so validation reads them as absent too: an
 * optional field sent as `null` or `""` is simply not given, and a required one is missing.
 */
function withoutEmpty(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null && value !== ''));
}

/**
 * The deepest nesting of `{` and `[` outside strings in a JSON text, without parsing it. With `stopAbove`, the
 * scan ends as soon as the depth passes it: a 32 KiB body of brackets costs 17 characters, not 32,768.
 */
export function nestingDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return deepest;
}

function validate<T extends z.ZodMiniType>(schema: T, fields: Record<string, unknown>): z.infer<T> {
  const parsed = z.safeParse(schema, fields);
  if (parsed.success) return parsed.data;
  const { field, problem } = describeIssue(parsed.error, fields);
  throw new ApiError(ApiCode.invalidParameter, `${field}: ${problem}`);
}

function checkMerchantMay(merchant: Merchant, payType?: MicropayRequest['pay_type']): void {
  if (merchant.status !== 0) {
    throw new ApiError(
      ApiCode.merchantInactive,
      `merchant status is ${merchant.status}, not active; contact operations`,
    );
  }
  if (payType !== undefined && !merchant.pay_types[payType]) {
    throw new ApiError(ApiCode.payTypeNotEnabled, `pay_type: merchant is not enabled for ${payType}`);
  }
}

function respond(ports: Ports, caller: Caller, code: ApiCodeValue, order: Order): Envelope {
  const data = toMerchantView(order, ports.channels.orderFields?.(order.channel) ?? []);
  if (code === ApiCode.channelRefused) {
    const text = `the channel refused the payment: ${order.err_code} ${order.err_msg ?? ''}`.trim();
    return envelope(caller, code, text, data, { err_code: order.err_code, err_msg: order.err_msg });
  }
  return envelope(caller, code, code === ApiCode.ok ? null : (messages[code] ?? null), data);
}

function respondRefund(caller: Caller, code: ApiCodeValue, order: Order, refund: Refund): Envelope {
  const data = toRefundView(order, refund);
  if (code === ApiCode.channelRefused) {
    const text = `the channel refused the refund: ${refund.err_code} ${refund.err_msg ?? ''}`.trim();
    return envelope(caller, code, text, data, { err_code: refund.err_code, err_msg: refund.err_msg });
  }
  return envelope(caller, code, code === ApiCode.ok ? null : (refundMessages[code] ?? null), data);
}

const refundMessages: Partial<Record<ApiCodeValue, string>> = {
  [ApiCode.channelTimeout]:
    'the channel did not answer in time; the refund is being followed; query it later',
};

function envelope(
  caller: Caller,
  code: ApiCodeValue,
  msg: string | null,
  data?: Record<string, unknown>,
  channelError?: { err_code?: string; err_msg?: string },
): Envelope {
  const body: Envelope = { code, msg, ...(data ? { data } : {}), ...channelError, version: '1.0' };
  if (!caller.merchant) return body;
  body.sign_type = caller.signType;
  body.sign = sign(
    body as unknown as Record<string, unknown>,
    caller.merchant.secret.api_key,
    caller.signType,
  );
  return body;
}
