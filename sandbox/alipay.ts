import {
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  type KeyObject,
  randomInt,
} from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { alipayBillMethod } from '#core/channels/alipay/statements.ts';
import { signingString } from '#core/channels/alipay/wire.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { fenToYuan, yuanToFen } from '#core/money.ts';
import { AlipayBillDesk, alipayBillPath, alipayLedger, billUrlQuery } from './alipay-bill.ts';
import {
  AlipayRefundDesk,
  alipaySandboxBuyer,
  isAlipayRefundMethod,
  type SandboxAlipayRefund,
} from './alipay-refunds.ts';
import { type RsaPemPair, rsaKeyPair } from './keys.ts';
import { sandboxAlipay } from './merchants.ts';
import { afterQuery, outcomeOf, payBehaviour, reverseAnswer } from './outcomes.ts';
import { bodyOf, SandboxServer, type SandboxStarter } from './server.ts';

/** The gateway path, as Alipay's (`https://openapi.alipay.com/gateway.do`). */
export const alipayGatewayPath = '/gateway.do';

/** Calls the sandbox received for one `out_trade_no`, by method. */
export type AlipaySandboxCalls = Record<'pay' | 'query' | 'cancel', number>;

/** One application the sandbox knows: requests from `app_id` must be signed with the private half of `publicKeyPem`. */
export interface AlipaySandboxApp {
  readonly app_id: string;
  /** The application's public key (what a merchant uploads to Alipay), PEM. */
  readonly publicKeyPem: string;
  /** The seller the app collects for (`2088…`); a request naming another seller is refused. */
  readonly seller_id?: string;
}

export interface AlipaySandboxOptions {
  readonly apps: readonly AlipaySandboxApp[];
  /** The sandbox's own signing key ("Alipay's private key"); its public half is what merchants verify answers with. */
  readonly alipayPrivateKeyPem: string;
  /** `app_auth_token`s the sandbox honours (service-provider mode); any other is refused. @default none */
  readonly appAuthTokens?: readonly string[];
  /** MICROPAY_DEADLINE_SCALE: how long "does not answer in time" hangs (60 s × scale). @default 1 */
  readonly timeScale?: number;
  /** The server's TLS certificate and key (a `SandboxPki`'s `server` fits). */
  readonly tls: { readonly cert_pem: string; readonly key_pem: string };
  /**
   * Publish a day's statement at once, today's included (the local stack: SPEC section 9), rather than once the day
   * is over, as Alipay does. @default false
   */
  readonly statementsAtOnce?: boolean;
}

type Method = 'alipay.trade.pay' | 'alipay.trade.query' | 'alipay.trade.cancel';
type TradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';
type Node = Record<string, unknown>;

const methods: Readonly<Record<Method, keyof AlipaySandboxCalls>> = {
  'alipay.trade.pay': 'pay',
  'alipay.trade.query': 'query',
  'alipay.trade.cancel': 'cancel',
};

interface Trade {
  readonly outTradeNo: string;
  readonly outcome: string;
  /** The seller the trade is paid to (the app's): whose statement lists it. */
  readonly sellerId: string;
  readonly createdAt: number;
  /** Alipay's trade number; absent for a number only closed by a cancel (Alipay never had that trade). */
  readonly tradeNo?: string;
  readonly totalAmount: string;
  readonly biz: Readonly<Record<string, unknown>>;
  status: TradeStatus;
  queries: number;
  cancels: number;
  paidAt?: number;
  /** When a cancel gave the paid trade's money back. */
  cancelRefundedAt?: number;
}

/** The sandbox's clock may differ from the caller's by this much before a `timestamp` is refused. */
const timestampToleranceMs = 15 * 60_000;
const gatewayMessages: Readonly<Record<string, string>> = {
  '10000': 'Success',
  '20000': 'Service Currently Unavailable',
  '20001': 'Insufficient Token Permissions',
  '40001': 'Missing Required Arguments',
  '40002': 'Invalid Arguments',
  '40004': 'Business Failed',
};

/** Thrown inside a handler to end it with a refusal: the gateway's `code`, `sub_code` and `sub_msg`. */
class Refusal extends Error {
  readonly code: string;
  readonly subCode: string;
  readonly subMsg: string;
  /** Extra fields of the node (a business refusal names the order). */
  readonly extra: Node;
  constructor(code: string, subCode: string, subMsg: string, extra: Node = {}) {
    super(`${code} ${subCode}: ${subMsg}`);
    this.code = code;
    this.subCode = subCode;
    this.subMsg = subMsg;
    this.extra = extra;
  }
}

/**
 * An Alipay open-platform sandbox over HTTPS, strict as Alipay is, at `/gateway.do`: form-encoded requests
 * (common parameters in the body or the query string, as Alipay's SDKs send them), RSA2 signatures checked with
 * the app's public key (`40002 isv.invalid-signature`), the gateway's `40001`/`40002` for missing and invalid
 * common parameters, `ACQ.*` refusals of business parameters, and answers signed with the sandbox's own key over
 * the node as sent. Outcomes by the last two digits of `auth_code` (SPEC section 6, in Alipay's words).
 * Refunds (`alipay.trade.refund`, `alipay.trade.fastpay.refund.query`) by sandbox/alipay-refunds.ts, outcomes by the
 * last two digits of the refund amount in fen (SPEC section 8), kept per trade (`refundsOf`). Statements
 * (`alipay.data.dataservice.bill.downloadurl.query`, then `GET /downloadBillFile.resource?…` for the zip) by
 * sandbox/alipay-bill.ts, from the trades, cancels and refunds it holds, whoever made them.
 * `GET /sandbox/calls/<out_trade_no>` reports what it received for an order. A test double: nothing under core/,
 * adapters/ or functions/ may import it.
 */
export class AlipaySandbox extends SandboxServer<keyof AlipaySandboxCalls> {
  private readonly signingKey: KeyObject;
  private readonly apps = new Map<string, { key: KeyObject; seller_id?: string }>();
  private readonly appAuthTokens: ReadonlySet<string>;
  private readonly trades = new Map<string, Trade>();
  private readonly byTradeNo = new Map<string, Trade>();
  private readonly refunds = new AlipayRefundDesk();
  private readonly bills = new AlipayBillDesk();
  private readonly statementsAtOnce: boolean;

  constructor(options: AlipaySandboxOptions) {
    super('Alipay sandbox', ['pay', 'query', 'cancel'], {
      tls: options.tls,
      timeScale: options.timeScale,
      path: alipayGatewayPath,
    });
    this.signingKey = createPrivateKey(options.alipayPrivateKeyPem);
    for (const app of options.apps) {
      this.apps.set(app.app_id, { key: createPublicKey(app.publicKeyPem), seller_id: app.seller_id });
    }
    this.appAuthTokens = new Set(options.appAuthTokens ?? []);
    this.statementsAtOnce = options.statementsAtOnce ?? false;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox');
    if (url.pathname === alipayBillPath && req.method === 'GET') return this.serveBill(url, res);
    if (url.pathname !== alipayGatewayPath) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const raw = rawParams(url.search.slice(1), (await bodyOf(req)).toString('latin1'));
    const charset = charsets[raw?.get('charset')?.toString('latin1').toLowerCase() ?? ''];
    const params = raw && decoded(raw, charset ?? 'utf-8');
    const method = params?.method;
    const known = method !== undefined && (method in methods || isAlipayRefundMethod(method));
    if (!raw || !params || !method || !(known || method === alipayBillMethod)) {
      const refusal = !params
        ? new Refusal('40002', 'isv.invalid-parameter', '参数重复或格式错误')
        : !method
          ? new Refusal('40001', 'isv.missing-method', '缺少方法名参数')
          : new Refusal('40002', 'isv.invalid-method', '不存在的方法名');
      return this.send(res, 'error_response', nodeOf(refusal), false);
    }
    const key = `${method.replaceAll('.', '_')}_response`;
    const app = this.apps.get(params.app_id ?? '');
    if (!app) {
      // Without a known app there is no key pair to answer with: Alipay's answer is unsigned.
      const refusal = params.app_id
        ? new Refusal('40002', 'isv.invalid-app-id', '无效的AppID参数')
        : new Refusal('40001', 'isv.missing-app-id', '缺少AppID参数');
      return this.send(res, key, nodeOf(refusal), false);
    }
    try {
      if (!charset) throw new Refusal('40002', 'isv.invalid-charset', '字符集错误: 支持utf-8、gbk、gb2312');
      this.checkCommon(params, app.key, signedBytes(raw));
      const biz = parseBiz(params.biz_content);
      if (method === alipayBillMethod)
        return this.send(res, key, this.billUrl(biz, params.app_id), true, charset);
      if (isAlipayRefundMethod(method)) {
        const answer = this.refunds.answer(method, biz, this.findTrade(biz));
        if (answer.kind === 'silent') return this.hang(res);
        return this.send(res, key, answer.node, true, charset);
      }
      const name = methods[method as Method];
      const outTradeNo = this.findTrade(biz)?.outTradeNo ?? text(biz.out_trade_no);
      if (outTradeNo) this.record(outTradeNo, name);
      switch (name) {
        case 'pay': {
          const node = this.pay(biz, app.seller_id, this.sellerOf(params.app_id));
          if (!node) return this.hang(res);
          return this.send(res, key, node, true, charset);
        }
        case 'query':
          return this.send(res, key, this.query(biz), true, charset);
        case 'cancel':
          return this.send(res, key, this.cancel(biz, this.sellerOf(params.app_id)), true, charset);
      }
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return this.send(res, key, nodeOf(error), true, charset);
    }
  }

  /** The seller an app collects for (its `seller_id`, else a user id made from its `app_id`). */
  private sellerOf(appId: string | undefined): string {
    return this.apps.get(appId ?? '')?.seller_id ?? `2088${(appId ?? '').slice(-12).padStart(12, '0')}`;
  }

  /** `alipay.data.dataservice.bill.downloadurl.query`: a download URL for the app's seller's day, or a refusal. */
  private billUrl(biz: Readonly<Record<string, unknown>>, appId: string | undefined): Node {
    const query = billUrlQuery(biz, Date.now(), this.statementsAtOnce);
    if (query.kind === 'refused') throw new Refusal('40004', query.subCode, query.subMsg);
    const origin = new URL(this.url).origin;
    return {
      code: '10000',
      msg: 'Success',
      bill_download_url: this.bills.urlFor(origin, this.sellerOf(appId), query.day),
    };
  }

  /** A statement zip, while its URL is good (Alipay's bill centre answers a stale link with no file). */
  private serveBill(url: URL, res: ServerResponse): void {
    const ledger = alipayLedger(this.trades.values(), (outTradeNo) => this.refunds.refundsOf(outTradeNo));
    const zip = this.bills.download(url.searchParams, ledger);
    if (!zip) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('链接已失效');
      return;
    }
    const name = url.searchParams.get('downloadFileName') ?? 'bill.csv.zip';
    res
      .writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${encodeURIComponent(name)}"`,
      })
      .end(zip);
  }

  /** The refunds the sandbox holds for a trade (by our `out_trade_no`), as its statements list them. */
  refundsOf(outTradeNo: string): readonly SandboxAlipayRefund[] {
    return this.refunds.refundsOf(outTradeNo);
  }

  /** The gateway's checks of the common parameters, in the order Alipay names their problems. */
  private checkCommon(params: Readonly<Record<string, string>>, appKey: KeyObject, signed: Buffer): void {
    const missing = (subCode: string, what: string) => new Refusal('40001', subCode, `缺少${what}参数`);
    if (params.format !== undefined && params.format.toUpperCase() !== 'JSON') {
      throw new Refusal('40002', 'isv.invalid-format', '无效的数据格式参数: 仅支持JSON');
    }
    if (!params.sign_type) throw missing('isv.missing-signature-type', '签名类型');
    if (params.sign_type !== 'RSA2')
      throw new Refusal('40002', 'isv.invalid-signature-type', '无效的签名类型参数');
    if (!params.sign) throw missing('isv.missing-signature', '签名');
    if (!params.timestamp) throw missing('isv.missing-timestamp', '时间戳');
    const sent = fromTimestamp(params.timestamp);
    if (sent === undefined || Math.abs(sent - Date.now()) > timestampToleranceMs) {
      throw new Refusal(
        '40002',
        'isv.invalid-timestamp',
        '非法的时间戳参数: 格式为yyyy-MM-dd HH:mm:ss, 北京时间',
      );
    }
    if (!params.version) throw missing('isv.missing-version', '版本号');
    if (params.version !== '1.0') throw new Refusal('40002', 'isv.invalid-parameter', '无效的版本号参数');
    if (!rsa2VerifyBytes(signed, params.sign, appKey)) {
      // Alipay's message quotes the string it verified, which holds the payment code: a reader must not keep it.
      throw new Refusal(
        '40002',
        'isv.invalid-signature',
        `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${signingString(params)}`,
      );
    }
    if (params.app_auth_token !== undefined && !this.appAuthTokens.has(params.app_auth_token)) {
      throw new Refusal('20001', 'aop.invalid-app-auth-token', '无效的应用授权令牌');
    }
  }

  private findTrade(biz: Readonly<Record<string, unknown>>): Trade | undefined {
    const tradeNo = text(biz.trade_no);
    if (tradeNo) return this.byTradeNo.get(tradeNo);
    return this.trades.get(text(biz.out_trade_no) ?? '');
  }

  /** `alipay.trade.pay` by the outcome table (SPEC section 6); undefined when the sandbox must not answer at all. */
  private pay(
    biz: Readonly<Record<string, unknown>>,
    sellerId: string | undefined,
    seller: string,
  ): Node | undefined {
    const outTradeNo = checkPayParameters(biz, sellerId);
    const totalAmount = text(biz.total_amount) as string;
    const authCode = text(biz.auth_code) as string;
    const existing = this.trades.get(outTradeNo);
    if (existing) return reusedTrade(existing, totalAmount);
    const outcome = outcomeOf(authCode);
    const create = (status: TradeStatus): Trade => {
      const trade: Trade = {
        outTradeNo,
        outcome,
        sellerId: seller,
        createdAt: Date.now(),
        tradeNo: tradeNo(),
        totalAmount,
        biz,
        status,
        queries: 0,
        cancels: 0,
        paidAt: status === 'TRADE_SUCCESS' ? Date.now() : undefined,
      };
      this.trades.set(outTradeNo, trade);
      if (trade.tradeNo) this.byTradeNo.set(trade.tradeNo, trade);
      return trade;
    };
    const refused = (subCode: string, subMsg: string) =>
      new Refusal('40004', subCode, subMsg, { out_trade_no: outTradeNo, ...zeroAmounts });
    const pay = payBehaviour(outcome);
    switch (pay.kind) {
      case 'paying':
        return {
          code: '10003',
          msg: ' order success pay inprocess',
          ...tradeFields(create('WAIT_BUYER_PAY')),
        };
      case 'refused':
        throw pay.reason === 'balance'
          ? refused('ACQ.BUYER_BALANCE_NOT_ENOUGH', '买家余额不足')
          : refused(
              'ACQ.PAYMENT_AUTH_CODE_INVALID',
              '支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款',
            );
      case 'error':
        create('TRADE_SUCCESS');
        throw new Refusal('20000', 'isp.unknow-error', '系统繁忙');
      case 'silent':
        if (pay.paid) create('TRADE_SUCCESS');
        return undefined;
      case 'paid': {
        const trade = create('TRADE_SUCCESS');
        return {
          code: '10000',
          msg: 'Success',
          ...tradeFields(trade),
          gmt_payment: toUtc8(trade.paidAt ?? 0, 'dashed'),
        };
      }
    }
  }

  private query(biz: Readonly<Record<string, unknown>>): Node {
    if (!text(biz.out_trade_no) && !text(biz.trade_no)) {
      throw new Refusal('40004', 'ACQ.INVALID_PARAMETER', '参数无效: out_trade_no和trade_no不能同时为空');
    }
    const trade = this.findTrade(biz);
    if (!trade?.tradeNo) throw new Refusal('40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在');
    trade.queries += 1;
    if (trade.status === 'WAIT_BUYER_PAY') {
      const now = afterQuery(trade.outcome, trade.queries);
      if (now === 'paid') {
        trade.status = 'TRADE_SUCCESS';
        trade.paidAt = Date.now();
      } else if (now === 'failed') {
        trade.status = 'TRADE_CLOSED';
      }
    }
    return {
      code: '10000',
      msg: 'Success',
      ...tradeFields(trade),
      trade_status: trade.status,
      ...(trade.paidAt !== undefined && trade.status === 'TRADE_SUCCESS'
        ? { send_pay_date: toUtc8(trade.paidAt, 'dashed') }
        : {}),
    };
  }

  private cancel(biz: Readonly<Record<string, unknown>>, seller: string): Node {
    const outTradeNo = text(biz.out_trade_no);
    if (!outTradeNo && !text(biz.trade_no)) {
      throw new Refusal('40004', 'ACQ.INVALID_PARAMETER', '参数无效: out_trade_no和trade_no不能同时为空');
    }
    const trade = this.findTrade(biz);
    if (!trade) {
      if (!outTradeNo) throw new Refusal('40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在');
      // Cancelling a number Alipay never saw closes it, so a late pay cannot go through.
      const closed: Trade = {
        outTradeNo,
        outcome: '',
        sellerId: seller,
        createdAt: Date.now(),
        totalAmount: '0.00',
        biz: {},
        status: 'TRADE_CLOSED',
        queries: 0,
        cancels: 1,
      };
      this.trades.set(outTradeNo, closed);
      return { code: '10000', msg: 'Success', out_trade_no: outTradeNo, retry_flag: 'N' };
    }
    trade.cancels += 1;
    const ids = { out_trade_no: trade.outTradeNo, ...(trade.tradeNo ? { trade_no: trade.tradeNo } : {}) };
    // Alipay asks for another cancel (retry_flag=Y) both after a system error and when it wants one more.
    if (reverseAnswer(trade.outcome, trade.cancels) !== 'reversed') {
      throw new Refusal('40004', 'ACQ.SYSTEM_ERROR', '系统错误', { ...ids, retry_flag: 'Y' });
    }
    const action = trade.status === 'TRADE_SUCCESS' ? 'refund' : 'close';
    trade.status = 'TRADE_CLOSED';
    if (action === 'refund') trade.cancelRefundedAt = Date.now();
    return {
      code: '10000',
      msg: 'Success',
      ...ids,
      retry_flag: 'N',
      action,
      ...(trade.cancelRefundedAt === undefined
        ? {}
        : { gmt_refund_pay: toUtc8(trade.cancelRefundedAt, 'dashed') }),
    };
  }

  /**
   * Writes `{"<key>": node, "sign": RSA2(node as written)}` in the request's charset, the node serialized once
   * and signed over its bytes as sent (Alipay answers a GBK request in GBK).
   */
  private send(
    res: ServerResponse,
    key: string,
    node: Node,
    signed: boolean,
    charset: Charset = 'utf-8',
  ): void {
    const raw = iconv.encode(JSON.stringify(node), charset);
    const sign = signed
      ? `,"sign":${JSON.stringify(createSign('RSA-SHA256').update(raw).sign(this.signingKey, 'base64'))}`
      : '';
    const body = Buffer.concat([Buffer.from(`{"${key}":`), raw, Buffer.from(`${sign}}`)]);
    res.writeHead(200, { 'content-type': `application/json;charset=${charset}` }).end(body);
  }
}

/** The charsets Alipay's common parameters allow, by their lower-case name. */
type Charset = 'utf-8' | 'gbk' | 'gb2312';
const charsets: Readonly<Record<string, Charset>> = { 'utf-8': 'utf-8', gbk: 'gbk', gb2312: 'gb2312' };

/**
 * The request's parameters from the query string and the form body together (Alipay's SDKs put the common ones in
 * the URL), each value as the bytes it was percent-encoded from; undefined when a name is given twice.
 */
function rawParams(query: string, body: string): Map<string, Buffer> | undefined {
  const params = new Map<string, Buffer>();
  for (const source of [query, body]) {
    for (const pair of source.split('&')) {
      if (pair === '') continue;
      const at = pair.indexOf('=');
      const name = percentDecoded(at < 0 ? pair : pair.slice(0, at)).toString('latin1');
      if (params.has(name)) return undefined;
      params.set(name, percentDecoded(at < 0 ? '' : pair.slice(at + 1)));
    }
  }
  return params;
}

/** `application/x-www-form-urlencoded` text (read as latin1, one char a byte) → the bytes it encodes. */
function percentDecoded(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const hex = c === '%' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c === '+' ? 0x20 : c.charCodeAt(0) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** Every value decoded in the request's charset (bytes that are not text in it decode to U+FFFD, and fail the signature). */
function decoded(raw: Map<string, Buffer>, charset: Charset): Record<string, string> {
  const decoder = new TextDecoder(charset);
  return Object.fromEntries([...raw].map(([name, value]) => [name, decoder.decode(value)]));
}

/** What the app signed: the sorted non-empty parameters but `sign`, as `name=value&…`, in the request's own bytes. */
function signedBytes(raw: Map<string, Buffer>): Buffer {
  const names = [...raw.keys()].filter((name) => name !== 'sign' && (raw.get(name)?.length ?? 0) > 0).sort();
  const parts: Buffer[] = [];
  for (const [i, name] of names.entries()) {
    parts.push(Buffer.from(`${i === 0 ? '' : '&'}${name}=`, 'latin1'), raw.get(name) as Buffer);
  }
  return Buffer.concat(parts);
}

function rsa2VerifyBytes(content: Buffer, signature: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(content).verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

function parseBiz(content: string | undefined): Readonly<Record<string, unknown>> {
  let biz: unknown;
  try {
    biz = JSON.parse(content ?? '');
  } catch {
    biz = undefined;
  }
  if (biz === null || typeof biz !== 'object' || Array.isArray(biz)) {
    throw new Refusal('40002', 'isv.invalid-parameter', '参数biz_content无效: 须为JSON对象');
  }
  return biz as Record<string, unknown>;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `alipay.trade.pay`'s business parameters, checked as Alipay documents them; returns `out_trade_no`. */
function checkPayParameters(biz: Readonly<Record<string, unknown>>, sellerId: string | undefined): string {
  const invalid = (what: string) => new Refusal('40004', 'ACQ.INVALID_PARAMETER', `参数无效: ${what}`);
  for (const name of ['out_trade_no', 'total_amount', 'subject', 'auth_code', 'scene']) {
    if (!text(biz[name])) throw invalid(`缺少${name}`);
  }
  const outTradeNo = text(biz.out_trade_no) as string;
  if (!/^[A-Za-z0-9_]{1,64}$/.test(outTradeNo))
    throw invalid('out_trade_no须为64个字符以内的字母、数字、下划线');
  const amount = yuanToFen(text(biz.total_amount) as string);
  if (amount === undefined || amount < 1 || amount > 100_000_000_00) {
    throw invalid('total_amount须为0.01到100000000之间、最多两位小数的金额(元)');
  }
  if (!['bar_code', 'wave_code', 'security_code'].includes(text(biz.scene) as string)) {
    throw invalid('scene须为bar_code或wave_code');
  }
  if (biz.product_code !== undefined && biz.product_code !== 'FACE_TO_FACE_PAYMENT') {
    throw invalid('product_code须为FACE_TO_FACE_PAYMENT');
  }
  const limits: [string, number][] = [
    ['subject', 256],
    ['body', 128],
    ['store_id', 32],
    ['terminal_id', 32],
    ['operator_id', 28],
  ];
  for (const [name, max] of limits) {
    const value = biz[name];
    if (value !== undefined && (typeof value !== 'string' || value.length > max)) {
      throw invalid(`${name}须为${max}个字符以内的字符串`);
    }
  }
  if (biz.seller_id !== undefined && biz.seller_id !== sellerId) throw invalid('seller_id与app_id不匹配');
  if (biz.time_expire !== undefined && fromTimestamp(String(biz.time_expire)) === undefined) {
    throw invalid('time_expire格式为yyyy-MM-dd HH:mm:ss');
  }
  if (!/^(2[5-9]|30)\d{14,22}$/.test(text(biz.auth_code) as string)) {
    throw new Refusal(
      '40004',
      'ACQ.PAYMENT_AUTH_CODE_INVALID',
      '支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款',
      {
        out_trade_no: outTradeNo,
        ...zeroAmounts,
      },
    );
  }
  return outTradeNo;
}

/** A pay for an `out_trade_no` Alipay already has: its state, or a refusal when the request differs. */
function reusedTrade(trade: Trade, totalAmount: string): Node {
  const ids = { out_trade_no: trade.outTradeNo, ...zeroAmounts };
  if (trade.status === 'TRADE_SUCCESS')
    throw new Refusal('40004', 'ACQ.TRADE_HAS_SUCCESS', '交易已被支付', ids);
  if (trade.status === 'TRADE_CLOSED') throw new Refusal('40004', 'ACQ.TRADE_HAS_CLOSE', '交易已经关闭', ids);
  if (yuanToFen(totalAmount) !== yuanToFen(trade.totalAmount)) {
    throw new Refusal('40004', 'ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改', ids);
  }
  return { code: '10003', msg: ' order success pay inprocess', ...tradeFields(trade) };
}

const zeroAmounts = {
  buyer_pay_amount: '0.00',
  invoice_amount: '0.00',
  point_amount: '0.00',
  receipt_amount: '0.00',
};

/** What Alipay says about a trade in pay and query answers; the buyer's money only once paid. */
function tradeFields(trade: Trade): Node {
  const paid = trade.status === 'TRADE_SUCCESS';
  // Echo the amount as the merchant wrote it, normalized to two decimals as Alipay writes amounts.
  const total = fenToYuan(yuanToFen(trade.totalAmount) ?? 0);
  return {
    trade_no: trade.tradeNo,
    out_trade_no: trade.outTradeNo,
    ...alipaySandboxBuyer,
    total_amount: total,
    ...(paid
      ? {
          buyer_pay_amount: total,
          invoice_amount: total,
          point_amount: '0.00',
          receipt_amount: total,
          fund_bill_list: [{ amount: total, fund_channel: 'ALIPAYACCOUNT', fund_type: 'DEBIT_CARD' }],
        }
      : zeroAmounts),
  };
}

function nodeOf(refusal: Refusal): Node {
  return {
    code: refusal.code,
    msg: gatewayMessages[refusal.code] ?? 'Error',
    sub_code: refusal.subCode,
    sub_msg: refusal.subMsg,
    ...refusal.extra,
  };
}

/** Alipay's `yyyy-MM-dd HH:mm:ss` (Beijing time) → epoch ms; undefined when malformed. */
function fromTimestamp(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`);
  return Number.isNaN(ms) || toUtc8(ms, 'dashed') !== value ? undefined : ms;
}

/** Alipay's trade number: 28 digits, date first ("2026…"). */
function tradeNo(): string {
  const date = toUtc8(Date.now(), 'dashed').slice(0, 10).replaceAll('-', '');
  return `${date}22001${Array.from({ length: 15 }, () => randomInt(10)).join('')}`;
}

/** The Alipay sandbox's key pairs: the sandbox app's (what a merchant holds) and the sandbox's own ("Alipay's"). */
export interface AlipaySandboxKeys {
  readonly app: RsaPemPair;
  readonly alipay: RsaPemPair;
  /** Where they are kept (`<dataDir>/alipay-sandbox`); undefined when in memory. */
  readonly dir?: string;
}

/** The Alipay sandbox's key pairs, kept in `<dataDir>/alipay-sandbox/` when given. */
export async function alipaySandboxKeys(dataDir?: string): Promise<AlipaySandboxKeys> {
  const dir = dataDir && join(dataDir, 'alipay-sandbox');
  const [app, alipay] = await Promise.all([rsaKeyPair(dir, 'app'), rsaKeyPair(dir, 'alipay')]);
  return { app, alipay, dir };
}

/** Starts the Alipay sandbox for the sandbox app, with this run's key pairs (kept in `dataDir` when given). */
export const alipayStarter: SandboxStarter = async ({ deadlineScale, pki, dataDir }) => {
  const keys = await alipaySandboxKeys(dataDir);
  const sandbox = new AlipaySandbox({
    apps: [{ ...sandboxAlipay.account, publicKeyPem: keys.app.public_pem }],
    alipayPrivateKeyPem: keys.alipay.private_pem,
    timeScale: deadlineScale,
    tls: pki.server,
    // SPEC section 9: locally, statements are available at once, so today's trades can be reconciled today.
    statementsAtOnce: true,
  });
  const url = await sandbox.listen();
  return {
    label: 'Alipay open API sandbox',
    url,
    paths:
      'alipay.trade.pay, alipay.trade.query, alipay.trade.cancel, alipay.trade.refund, alipay.trade.fastpay.refund.query, alipay.data.dataservice.bill.downloadurl.query (RSA2); statements at /downloadBillFile.resource',
    credentials: { app_private_key_pem: keys.app.private_pem, alipay_public_key_pem: keys.alipay.public_pem },
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo),
    callTimes: (outTradeNo) => sandbox.callTimes(outTradeNo),
    merchantAddFlags: () =>
      keys.dir === undefined
        ? undefined
        : `--alipay-app-id ${sandboxAlipay.account.app_id} --alipay-private-key ${join(keys.dir, 'app-private-key.pem')} --alipay-public-key ${join(keys.dir, 'alipay-public-key.pem')}`,
    close: () => sandbox.close(),
  };
};
