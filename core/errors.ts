/** Response codes of the merchant API (SPEC section 2). */
export const ApiCode = {
  ok: 0,
  invalidParameter: 100,
  badSignature: 101,
  duplicateMismatch: 102,
  refundNotAllowed: 103,
  internal: 500,
  merchantNotFound: 200,
  merchantInactive: 201,
  payTypeNotEnabled: 202,
  orderNotFound: 301,
  orderStateConflict: 302,
  channelRefused: 600,
  channelTimeout: 601,
} as const;

export type ApiCodeValue = (typeof ApiCode)[keyof typeof ApiCode];

/**
 * The one error type the domain throws on purpose. `code` is the API code the client sees; `message`
 * is safe to show (it names the field and what is wrong, never a key or a payment code).
 */
export class ApiError extends Error {
  readonly code: ApiCodeValue;
  override name = 'ApiError';

  constructor(code: ApiCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export const invalidParameter = (field: string, problem: string): ApiError =>
  new ApiError(ApiCode.invalidParameter, `${field}: ${problem}`);

/** A conditional write lost against a concurrent writer; the caller re-reads and decides again. */
export class StaleOrderError extends Error {
  override name = 'StaleOrderError';
}
