import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { wechatPaths } from '#core/channels/wechat/client.ts';
import { wechatBillPath } from '#core/channels/wechat/statements.ts';
import { fromXml, toXml } from '#core/channels/wechat/wire.ts';
import { parseSignType, type SignType, sign, verify } from '#core/signing.ts';
import { sandboxWechat } from './merchants.ts';
import { bodyOf, CodedRefusal, type SandboxOptions, SandboxServer, type SandboxStarter } from './server.ts';
import { downloadBill, sendBill, wechatLedger } from './wechat-bill.ts';
import { refundParameters, type SandboxWechatRefund, WechatRefundDesk } from './wechat-refunds.ts';
import {
  isWechatAuthCode,
  type WechatOrder,
  wechatPayRefusal,
  wechatPlay,
  wechatReuseRefusal,
  wechatStateDescriptions,
  wechatTransactionId,
} from './wechat-words.ts';

type Fields = Record<string, string>;
type Endpoint = keyof typeof wechatPaths;

/** Calls the sandbox received for one `out_trade_no`, by endpoint. */
export type SandboxCalls = Record<Endpoint, number>;

/** One WeChat merchant account the sandbox knows: `appid` bound to `mch_id`, requests signed with `key`. */
export interface WechatSandboxAccount {
  readonly appid: string;
  readonly mch_id: string;
  readonly key: string;
}

/** The sandbox's TLS material (a `SandboxPki` from `sandbox/certificates.ts` fits). */
export interface WechatSandboxTls {
  /** The CA client certificates must chain to. */
  readonly caPem: string;
  /** The server's certificate and key. */
  readonly server: { readonly cert_pem: string; readonly key_pem: string };
}

export interface WechatSandboxOptions extends SandboxOptions {
  /** The merchant accounts; an `mch_id` may be bound to several `appid`s (with one key). */
  readonly accounts: readonly WechatSandboxAccount[];
  readonly pki: WechatSandboxTls;
}

interface SandboxOrder extends WechatOrder {
  /** The micropay request's fields. */
  readonly fields: Fields;
  /** Its refunds, oldest first. */
  readonly refunds: SandboxWechatRefund[];
}

/** Every parameter each endpoint's document defines; anything else is PARAM_ERROR. */
const knownParameters: Record<Endpoint, ReadonlySet<string>> = {
  micropay: parameters(
    'device_info body detail attach out_trade_no total_fee fee_type spbill_create_ip goods_tag limit_pay time_start time_expire receipt auth_code scene_info version',
  ),
  orderquery: parameters('transaction_id out_trade_no'),
  reverse: parameters('transaction_id out_trade_no'),
  refund: parameters(refundParameters.refund),
  refundquery: parameters(refundParameters.refundquery),
};
function parameters(names: string): ReadonlySet<string> {
  return new Set(`appid mch_id sub_appid sub_mch_id nonce_str sign sign_type ${names}`.split(' '));
}
/** The numbers an endpoint takes to name its order (or refund): one of them is required. */
const namedBy: Record<Exclude<Endpoint, 'micropay'>, readonly string[]> = {
  orderquery: ['transaction_id', 'out_trade_no'],
  reverse: ['transaction_id', 'out_trade_no'],
  refund: ['transaction_id', 'out_trade_no'],
  refundquery: ['refund_id', 'out_refund_no', 'transaction_id', 'out_trade_no'],
};
const requiredParameters: Record<Endpoint, readonly string[]> = {
  micropay: [
    'appid',
    'mch_id',
    'nonce_str',
    'sign',
    'body',
    'out_trade_no',
    'total_fee',
    'spbill_create_ip',
    'auth_code',
  ],
  orderquery: ['appid', 'mch_id', 'nonce_str', 'sign'],
  reverse: ['appid', 'mch_id', 'nonce_str', 'sign'],
  refund: ['appid', 'mch_id', 'nonce_str', 'sign', 'out_refund_no', 'total_fee', 'refund_fee'],
  refundquery: ['appid', 'mch_id', 'nonce_str', 'sign'],
};
/** Thrown inside a handler to end it with a `result_code=FAIL` answer: err_code and err_code_des. */
class Refusal extends CodedRefusal<string> {}

/**
 * A WeChat Pay v2 sandbox over HTTPS, strict as WeChat is: signed XML (`sign_type` MD5 or HMAC-SHA256) at
 * `/pay/micropay`, `/pay/orderquery`, `/secapi/pay/reverse`, `/secapi/pay/refund` and `/pay/refundquery`, the
 * `/secapi/` ones only with a client certificate issued by the test CA for the request's `mch_id` (mutual TLS);
 * WeChat's err_codes for unbound appids, missing, unknown or malformed parameters and reused order numbers;
 * payment outcomes by the last two digits of `auth_code` (SPEC section 6), refunds' by those of `refund_fee`
 * (section 8, sandbox/wechat-refunds.ts); its statement at `/pay/downloadbill` (sandbox/wechat-bill.ts).
 * `GET /sandbox/calls/<out_trade_no>` reports what it received for an order, its refunds' calls included.
 * A test double: nothing under core/, adapters/ or functions/ may import it.
 */
export class WechatSandbox extends SandboxServer<Endpoint> {
  private readonly merchants = new Map<string, { key: string; appids: Set<string> }>();
  private readonly orders = new Map<string, SandboxOrder>();
  private readonly byTransactionId = new Map<string, SandboxOrder>();
  private readonly refunds = new WechatRefundDesk();

  constructor(options: WechatSandboxOptions) {
    // Every client is asked for a certificate, but only /secapi/ requires one.
    const tls = { ...options.pki.server, clientCa: options.pki.caPem };
    super('WeChat sandbox', Object.keys(wechatPaths) as Endpoint[], { tls, timeScale: options.timeScale });
    for (const { appid, mch_id, key } of options.accounts) {
      const merchant = this.merchants.get(mch_id) ?? { key, appids: new Set<string>() };
      merchant.appids.add(appid);
      this.merchants.set(mch_id, merchant);
    }
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const endpoint = (Object.keys(wechatPaths) as Endpoint[]).find((name) => wechatPaths[name] === url);
    if (!endpoint && url !== wechatBillPath) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') return fail(res, '请使用post方法');
    const request = fromXml((await bodyOf(req)).toString('utf8'));
    if (!request) return fail(res, 'XML格式错误');
    const merchant = this.merchants.get(request.mch_id ?? '');
    if (!merchant) return fail(res, 'mch_id参数错误: 商户号不存在');
    if (url.startsWith('/secapi/')) {
      const problem = certificateProblem(req.socket as TLSSocket, request.mch_id ?? '');
      if (problem) return fail(res, `证书错误: ${problem}`);
    }
    const signType = parseSignType(request.sign_type);
    if (!signType) return fail(res, 'sign_type参数错误');

    // A request WeChat cannot authenticate (no sign or nonce, or a sign that does not verify) is refused at the
    // communication level: return_code=FAIL and return_msg, unsigned. Only an authenticated one gets a signed
    // business answer, LACK_PARAMS for a missing business parameter included.
    const unauthenticated = ['nonce_str', 'sign'].find((name) => !request[name]);
    if (unauthenticated) return fail(res, `缺少参数${unauthenticated}`);
    if (!verify(request, merchant.key, signType)) return fail(res, '签名错误');
    // The statement (sandbox/wechat-bill.ts), from the orders' ledger.
    if (!endpoint)
      return sendBill(res, downloadBill(request, merchant.appids, wechatLedger(this.orders.values())));
    const answer = (fields: Fields) => signed(res, request, merchant.key, signType, fields);
    try {
      const missing = requiredParameters[endpoint].find((name) => !request[name]);
      if (missing) throw new Refusal('LACK_PARAMS', `缺少参数${missing}`);
      if (endpoint !== 'micropay' && !namedBy[endpoint].some((name) => request[name])) {
        throw new Refusal('LACK_PARAMS', `缺少参数${namedBy[endpoint].join('或')}`);
      }
      if (!merchant.appids.has(request.appid ?? '')) {
        throw new Refusal('APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
      }
      checkParameters(endpoint, request);
      // Calls name the order by transaction_id or out_trade_no (transaction_id wins); refundquery may name a refund.
      const named = endpoint === 'refundquery' ? this.refunds.named(request) : undefined;
      const order =
        (named && this.orderOf(named)) ??
        (endpoint !== 'micropay' && request.transaction_id
          ? this.byTransactionId.get(request.transaction_id)
          : this.orders.get(request.out_trade_no ?? ''));
      const outTradeNo = order?.outTradeNo ?? request.out_trade_no;
      if (outTradeNo) this.record(outTradeNo, endpoint);
      switch (endpoint) {
        case 'micropay': {
          if (order) throw new Refusal(...wechatReuseRefusal(order.state));
          const fields = this.micropay(request, request.out_trade_no ?? '');
          if (!fields) return this.hang(res);
          return answer(fields);
        }
        case 'orderquery':
          return answer(this.orderquery(order));
        case 'reverse':
          if (!order && request.transaction_id) throw new Refusal('ORDERNOTEXIST', '此交易订单号不存在');
          return answer(this.reverse(order, request.out_trade_no ?? ''));
        case 'refund': {
          const refunded = this.refunds.refund(order, request);
          if (refunded.kind === 'silent') return this.hang(res);
          return answer(refunded.fields);
        }
        case 'refundquery':
          return answer(this.refunds.query(request, order));
      }
    } catch (error) {
      if (!(error instanceof CodedRefusal)) throw error;
      return answer({ result_code: 'FAIL', err_code: String(error.code), err_code_des: error.message });
    }
  }

  private orderOf(refund: SandboxWechatRefund): SandboxOrder | undefined {
    for (const order of this.orders.values()) if (order.refunds.includes(refund)) return order;
    return undefined;
  }

  /** The outcome table (SPEC section 6); undefined when the sandbox must not answer at all. */
  private micropay(request: Fields, outTradeNo: string): Fields | undefined {
    const played = wechatPlay.pay(outTradeNo, request.auth_code, (opened) => {
      const transactionId = wechatTransactionId();
      const order: SandboxOrder = { ...opened, fields: request, transactionId, refunds: [] };
      this.orders.set(outTradeNo, order);
      this.byTransactionId.set(transactionId, order);
      return order;
    });
    if (played.kind === 'silent') return undefined;
    if (played.kind === 'paid') return { result_code: 'SUCCESS', ...paymentFields(played.order) };
    throw new Refusal(...wechatPayRefusal(played));
  }

  private orderquery(order: SandboxOrder | undefined): Fields {
    if (!order) throw new Refusal('ORDERNOTEXIST', '此交易订单号不存在');
    wechatPlay.query(order);
    // A paid order with a refund accepted reads 转入退款 (REFUND), with only the state fields.
    if (order.state === 'SUCCESS' && order.refunds.length > 0) {
      return {
        result_code: 'SUCCESS',
        out_trade_no: order.outTradeNo,
        trade_state: 'REFUND',
        trade_state_desc: '转入退款',
      };
    }
    // orderquery's 返回结果: the payment's fields only for SUCCESS; otherwise out_trade_no, attach and the state.
    return {
      result_code: 'SUCCESS',
      out_trade_no: order.outTradeNo,
      ...(order.fields.attach ? { attach: order.fields.attach } : {}),
      trade_state: order.state,
      trade_state_desc: wechatStateDescriptions[order.state],
      ...(order.state === 'SUCCESS' ? paymentFields(order) : {}),
    };
  }

  private reverse(order: SandboxOrder | undefined, outTradeNo: string): Fields {
    if (!order) {
      // Reversing an order WeChat never saw closes its number, so a late pay cannot go through.
      this.orders.set(outTradeNo, { ...wechatPlay.closed(outTradeNo), fields: {}, refunds: [] });
      return { result_code: 'SUCCESS', recall: 'N' };
    }
    // WeChat says "call again" (recall=Y) both when it asks for another reverse and when the reverse failed.
    if (wechatPlay.reverse(order) !== 'reversed') {
      return { result_code: 'FAIL', err_code: 'SYSTEMERROR', err_code_des: '系统超时', recall: 'Y' };
    }
    return { result_code: 'SUCCESS', recall: 'N' };
  }
}

/** Why this connection may not call `/secapi/` for `mchId`; undefined when it may. */
function certificateProblem(socket: TLSSocket, mchId: string): string | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return 'client certificate required';
  if (!socket.authorized) return `client certificate not trusted (${socket.authorizationError})`;
  const cn = peer.subject?.CN;
  return cn === mchId ? undefined : `client certificate is for ${String(cn)}, not mch_id ${mchId}`;
}

/** WeChat's checks of parameter shapes, after the signature and the appid binding. */
function checkParameters(endpoint: Endpoint, request: Fields): void {
  const unknown = Object.keys(request).find((name) => !knownParameters[endpoint].has(name));
  if (unknown) throw new Refusal('PARAM_ERROR', `参数错误: 未定义的参数${unknown}`);
  for (const name of ['nonce_str', 'out_trade_no'] as const) {
    if ((request[name] ?? '').length > 32) throw new Refusal('PARAM_ERROR', `参数错误: ${name}长度超过32`);
  }
  // 商户退款单号: String(64) of digits, letters and _-|*@.
  if (request.out_refund_no !== undefined && !/^[0-9A-Za-z_\-|*@]{1,64}$/.test(request.out_refund_no)) {
    throw new Refusal('PARAM_ERROR', '参数错误: out_refund_no只能是64位以内的数字、大小写字母_-|*@');
  }
  for (const name of ['total_fee', 'refund_fee'] as const) {
    if (request[name] !== undefined && !/^[1-9]\d*$/.test(request[name])) {
      throw new Refusal('PARAM_ERROR', `参数错误: ${name}必须为大于0的整数(单位为分)`);
    }
  }
  if (Number(request.refund_fee) > Number(request.total_fee)) {
    throw new Refusal('PARAM_ERROR', '参数错误: refund_fee不能大于total_fee');
  }
  if (Buffer.byteLength(request.refund_desc ?? '', 'utf8') > 80) {
    throw new Refusal('PARAM_ERROR', '参数错误: refund_desc长度超过80');
  }
  if (request.offset !== undefined && !/^\d{1,4}$/.test(request.offset)) {
    throw new Refusal('PARAM_ERROR', '参数错误: offset必须为非负整数');
  }
  if (request.auth_code !== undefined && !isWechatAuthCode(request.auth_code)) {
    throw new Refusal('AUTH_CODE_INVALID', '授权码检验错误');
  }
}

function paymentFields(order: SandboxOrder): Fields {
  return {
    openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    is_subscribe: 'N',
    trade_type: 'MICROPAY',
    bank_type: 'CFT',
    fee_type: order.fields.fee_type ?? 'CNY',
    total_fee: order.fields.total_fee ?? '0',
    cash_fee_type: 'CNY',
    cash_fee: order.fields.total_fee ?? '0',
    coupon_fee: '0',
    transaction_id: order.transactionId ?? '',
    out_trade_no: order.outTradeNo,
    attach: order.fields.attach ?? '',
    time_end: toUtc8(order.paidAt ?? Date.now(), 'compact'),
  };
}

/** A communication-level refusal: WeChat answers these with nothing but the two fields, unsigned. */
function fail(res: ServerResponse, message: string): void {
  send(res, { return_code: 'FAIL', return_msg: message });
}

/** An accepted request's answer: the account's identity, a fresh nonce, signed the way the request was. */
function signed(res: ServerResponse, request: Fields, key: string, signType: SignType, fields: Fields): void {
  const body: Fields = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: request.appid ?? '',
    mch_id: request.mch_id ?? '',
    ...pick(request, ['sub_appid', 'sub_mch_id', 'device_info']),
    nonce_str: randomBytes(16).toString('hex'),
    ...fields,
  };
  body.sign = sign(body, key, signType);
  send(res, body);
}

function pick(fields: Fields, names: readonly string[]): Fields {
  return Object.fromEntries(
    names.filter((name) => fields[name]).map((name) => [name, fields[name] as string]),
  );
}

function send(res: ServerResponse, fields: Fields): void {
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(toXml(fields));
}

/** Starts the WeChat sandbox for the sandbox merchants' account, with its client certificate from the test CA. */
export const wechatStarter: SandboxStarter = async ({ deadlineScale, pki }) => {
  const { account, credentials } = sandboxWechat;
  const sandbox = new WechatSandbox({
    accounts: [{ ...account, key: credentials.api_key }],
    timeScale: deadlineScale,
    pki,
  });
  const url = await sandbox.listen();
  const client = pki.issueClientCertificate(account.mch_id);
  return {
    label: 'WeChat Pay v2 sandbox',
    url,
    paths:
      '/pay/micropay, /pay/orderquery, /secapi/pay/reverse and /secapi/pay/refund (mutual TLS), /pay/refundquery, /pay/downloadbill',
    credentials: { cert_pem: client.cert_pem, key_pem: client.key_pem },
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo),
    callTimes: (outTradeNo) => sandbox.callTimes(outTradeNo),
    merchantAddFlags: (dir) => {
      mkdirSync(dir, { recursive: true });
      const cert = join(dir, `wechat-client-${account.mch_id}.pem`);
      const key = join(dir, `wechat-client-${account.mch_id}-key.pem`);
      writeFileSync(cert, client.cert_pem);
      writeFileSync(key, client.key_pem, { mode: 0o600 });
      return `--wechat-appid ${account.appid} --wechat-mch-id ${account.mch_id} --wechat-key ${credentials.api_key} --wechat-cert ${cert} --wechat-cert-key ${key}`;
    },
    close: () => sandbox.close(),
  };
};
