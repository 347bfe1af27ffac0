import { randomBytes } from 'node:crypto';
import type { Envelope } from '#core/api/handler.ts';
import { type SignType, sign, verify } from '#core/signing.ts';

export interface ClientOptions {
  /** Base URL of the gateway, e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly merchantId: string;
  readonly key: string;
  readonly signType?: SignType;
}

export interface ApiAnswer {
  readonly status: number;
  readonly envelope: Envelope;
  /** Whether the response's `sign` verified with the merchant key (false when unsigned). */
  readonly signatureValid: boolean;
}

/** A merchant-side client of the gateway: signs requests and checks the signature of answers. */
export class MicropayClient {
  private readonly options: ClientOptions;

  constructor(options: ClientOptions) {
    this.options = { ...options, url: options.url.replace(/\/+$/, '') };
  }

  signed(fields: Record<string, unknown>): Record<string, unknown> {
    const signType = this.options.signType ?? 'MD5';
    const unsigned = {
      merchant_id: this.options.merchantId,
      sign_type: signType,
      nonce_str: randomBytes(16).toString('hex'),
      ...fields,
    };
    return { ...unsigned, sign: sign(unsigned, this.options.key, signType) };
  }

  micropay(fields: Record<string, unknown>): Promise<ApiAnswer> {
    return this.post('/v1/micropay', this.signed(fields));
  }

  query(ids: { trade_id?: string; mch_trade_id?: string }): Promise<ApiAnswer> {
    return this.post('/v1/query', this.signed(ids));
  }

  reverse(ids: { trade_id?: string; mch_trade_id?: string }): Promise<ApiAnswer> {
    return this.post('/v1/reverse', this.signed(ids));
  }

  refund(fields: {
    trade_id?: string;
    mch_trade_id?: string;
    out_refund_no: string;
    refund_fee: number;
    refund_desc?: string;
    op_user_id?: string;
  }): Promise<ApiAnswer> {
    return this.post('/v1/refund', this.signed(fields));
  }

  refundQuery(ids: {
    refund_id?: string;
    out_refund_no?: string;
    trade_id?: string;
    mch_trade_id?: string;
  }): Promise<ApiAnswer> {
    return this.post('/v1/refund/query', this.signed(ids));
  }

  /** Posts a body as given (already signed, or deliberately broken). */
  async post(path: string, body: unknown, raw = false): Promise<ApiAnswer> {
    const response = await fetch(`${this.options.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw ? String(body) : JSON.stringify(body),
    });
    const text = await response.text();
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      throw new Error(
        `gateway answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    const signType = (envelope.sign_type ?? 'MD5') as SignType;
    const signatureValid =
      typeof envelope.sign === 'string' && verify(envelope as never, this.options.key, signType);
    return { status: response.status, envelope, signatureValid };
  }
}
