import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  type AlipayExpectation,
  type AlipayMethod,
  type CallOutcome,
  readCancelAnswer,
  readPayAnswer,
  readQueryAnswer,
} from '#core/channels/alipay/answers.ts';
import { alipaySeedProtocol } from '#core/channels/alipay/protocol.ts';
import {
  maxAnswerBytes,
  readPrivateKey,
  readPublicKey,
  rsa2Sign,
  rsa2Verify,
  signingString,
  toForm,
  type WireParams,
} from '#core/channels/alipay/wire.ts';
import type {
  Channel,
  ChannelAccount,
  ChannelContext,
  ChannelCredentials,
  ChannelOrder,
  PayCommand,
  PayResult,
  QueryResult,
  ReverseResult,
  SettlementProtocol,
} from '#core/channels/channel.ts';
import type { ChannelHttp } from '#core/channels/kit/http.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { fenToYuan } from '#core/money.ts';

/** A parsed key, remembered by its PEM so a warm Lambda parses each merchant's keys once. */
const keyCache = new Map<string, KeyObject | undefined>();

function cachedKey(text: string | undefined, read: (text: string) => KeyObject | undefined) {
  if (!text) return undefined;
  if (!keyCache.has(text)) {
    if (keyCache.size >= 256) keyCache.clear();
    keyCache.set(text, read(text));
  }
  return keyCache.get(text);
}

/**
 * Alipay open platform, bar-code payment (当面付, seed 002). Account: `app_id`, optional `seller_id`. Credentials:
 * `app_private_key_pem` (the application's RSA private key, PKCS#8 or PKCS#1), `alipay_public_key_pem` (Alipay's
 * public key for the app) and, in service-provider mode, `app_auth_token`. Requests are form-encoded POSTs signed
 * RSA2; answers count only when Alipay's signature verifies over the node as sent.
 */
export class AlipayChannel implements Channel {
  readonly name = 'alipay';
  readonly protocol: SettlementProtocol;
  private readonly gatewayUrl: string;
  private readonly http: ChannelHttp;

  constructor(gatewayUrl: string, http: ChannelHttp, protocol: SettlementProtocol = alipaySeedProtocol) {
    this.gatewayUrl = gatewayUrl;
    this.http = http;
    this.protocol = protocol;
  }

  validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
    const problems: string[] = [];
    if (!/^\d{16}$/.test(account.app_id ?? '')) problems.push('alipay account needs app_id (16 digits)');
    if (account.seller_id !== undefined && !/^2088\d{12}$/.test(account.seller_id)) {
      problems.push('alipay seller_id must be an Alipay user id (16 digits starting 2088)');
    }
    if (account.currency !== undefined && account.currency !== 'CNY') {
      problems.push('alipay bar-code payments are in CNY');
    }
    problems.push(...keyProblems(credentials));
    return problems;
  }

  async pay(ctx: ChannelContext, command: PayCommand, deadlineMs: number): Promise<PayResult> {
    const outcome = await this.call(ctx, 'alipay.trade.pay', deadlineMs, {
      out_trade_no: command.out_trade_no,
      scene: command.scene ?? 'bar_code',
      auth_code: command.auth_code,
      product_code: 'FACE_TO_FACE_PAYMENT',
      subject: command.subject ?? command.body,
      body: command.body,
      total_amount: fenToYuan(command.total_fee),
      seller_id: ctx.account.seller_id,
      store_id: command.store_id,
      terminal_id: command.op_device_id ?? command.device_info,
      operator_id: command.op_user_id,
      // alipay.trade.pay's current parameters (AlipayTradePayModel, alipay-sdk-java-all, 2024-08-09) document
      // both time_expire (absolute, yyyy-MM-dd HH:mm:ss) and the older timeout_express; time_expire wins.
      time_expire:
        command.time_expire === undefined ? undefined : toUtc8(command.time_expire * 1000, 'dashed'),
    });
    return readPayAnswer(outcome, expectation(ctx, command));
  }

  async query(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<QueryResult> {
    const outcome = await this.call(ctx, 'alipay.trade.query', deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readQueryAnswer(outcome, expectation(ctx, order));
  }

  async reverse(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<ReverseResult> {
    const outcome = await this.call(ctx, 'alipay.trade.cancel', deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readCancelAnswer(outcome, expectation(ctx, order));
  }

  /**
   * Signs and posts one request; `none` on timeout, network or HTTP error, or an oversize answer, and when the
   * request cannot be signed (no usable private key: nothing was sent, so nothing can have happened).
   */
  private async call(
    ctx: ChannelContext,
    method: AlipayMethod,
    deadlineMs: number,
    biz: Readonly<Record<string, string | undefined>>,
  ): Promise<CallOutcome> {
    const privateKey = cachedKey(ctx.credentials.app_private_key_pem, readPrivateKey);
    if (!privateKey) return { kind: 'none', word: 'NO_PRIVATE_KEY' };
    const params: WireParams = {
      app_id: ctx.account.app_id,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: toUtc8(Date.now(), 'dashed'),
      version: '1.0',
      app_auth_token: ctx.credentials.app_auth_token,
      // JSON.stringify drops the undefined members: optional business fields not given are not sent.
      biz_content: JSON.stringify(biz),
    };
    params.sign = rsa2Sign(signingString(params), privateKey);
    // As Alipay's own SDKs send them: the common parameters in the query string (Alipay reads `charset` there to
    // decode the body; a subject in Chinese must arrive as signed), the business content as the form body.
    const { biz_content, ...common } = params;
    const target = `${this.gatewayUrl}${this.gatewayUrl.includes('?') ? '&' : '?'}${toForm(common)}`;
    return this.http.call(
      target,
      toForm({ biz_content }),
      { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8', accept: 'application/json' },
      { deadlineMs, maxResponseBytes: maxAnswerBytes },
    );
  }
}

function expectation(ctx: ChannelContext, order: ChannelOrder): AlipayExpectation {
  return {
    alipayPublicKey: cachedKey(ctx.credentials.alipay_public_key_pem, readPublicKey),
    app_id: ctx.account.app_id ?? '',
    out_trade_no: order.out_trade_no,
    total_fee: order.total_fee,
  };
}

/**
 * The keys parse, the application's private key is RSA of at least 2048 bits (RSA2) and signs what the app's
 * public key verifies (the one given as `app_public_key_pem`, which is what was uploaded to Alipay, or else the
 * one derived from the private key), and Alipay's public key is not the app's own (a common mix-up that would
 * make every answer fail its check).
 */
function keyProblems(credentials: ChannelCredentials): string[] {
  const privateKey = readPrivateKey(credentials.app_private_key_pem);
  const alipayKey = readPublicKey(credentials.alipay_public_key_pem);
  const problems: string[] = [];
  if (!privateKey) {
    problems.push('alipay credentials need app_private_key_pem: an RSA private key (PKCS#8 or PKCS#1 PEM)');
  } else if ((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    problems.push('alipay app_private_key_pem must be at least 2048 bits for RSA2');
  }
  if (!alipayKey)
    problems.push("alipay credentials need alipay_public_key_pem: Alipay's RSA public key (PEM)");
  if (!privateKey) return problems;
  const appPublicKey =
    credentials.app_public_key_pem === undefined
      ? createPublicKey(privateKey)
      : readPublicKey(credentials.app_public_key_pem);
  const probe = `micropay setup check ${Date.now()}`;
  if (!appPublicKey || !rsa2Verify(probe, rsa2Sign(probe, privateKey), appPublicKey)) {
    problems.push(
      'alipay app_private_key_pem does not sign what the app public key verifies: not a key pair',
    );
  }
  const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (alipayKey?.export({ type: 'spki', format: 'der' }).equals(derived)) {
    problems.push("alipay_public_key_pem is the app's own public key; it must be Alipay's public key");
  }
  return problems;
}
