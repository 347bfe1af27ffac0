import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { blueoceanApis } from '#core/channels/blueocean/protocol.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import {
  BlueoceanRefundDesk,
  type RefundableOrder,
  refundParameters,
  refundRequired,
  refundRoutes,
} from './blueocean-refunds.ts';
import { sandboxBlueocean } from './merchants.ts';
import { randomDigits } from './orders.ts';
import {
  bodyOf,
  CodedRefusal,
  type SandboxCall,
  type SandboxOptions,
  SandboxServer,
  type SandboxStarter,
} from './server.ts';
import {
  isWechatAuthCode,
  type WechatOrder,
  type WechatTradeState,
  wechatPayRefusal,
  wechatPlay,
  wechatStateDescriptions,
  wechatTransactionId,
} from './wechat-words.ts';

type Endpoint = 'pay' | 'query' | 'reverse';
type Fields = Record<string, string>;

/** Calls the sandbox received for one `out_trade_no`, by endpoint. */
export type BlueoceanCalls = Record<Endpoint, number>;

/** One call the sandbox received, and when (epoch ms, the sandbox's clock). */
export type BlueoceanCall = SandboxCall<Endpoint>;

/** One BlueOcean account the sandbox knows: its `appid` and the key it signs with both ways. */
export interface BlueoceanSandboxAccount {
  readonly appid: string;
  readonly key: string;
}

export interface BlueoceanSandboxOptions extends SandboxOptions {
  readonly accounts: readonly BlueoceanSandboxAccount[];
  /** The currency accounts are priced in (`fee_type`). @default 'HKD' */
  readonly currency?: string;
}

/** A WeChat payment (BlueOcean relays WeChat's trade states), with BlueOcean's own fields. */
interface SandboxOrder extends WechatOrder {
  readonly api: string;
  readonly totalFee: number;
  readonly attach: string;
  readonly sn: string;
}

/** Ends a call with BlueOcean's error form: `{code, message}`, unsigned. */
class Refusal extends CodedRefusal<number> {}

/** What each generation's calls require (seed 000 and BlueOcean's unified API document), beside appid and sign. */
const required: Record<string, Record<Endpoint, readonly string[]>> = {
  wechat: {
    pay: ['nonce_str', 'body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'auth_code'],
    query: ['nonce_str'],
    reverse: ['nonce_str'],
  },
  unified: { pay: ['payment', 'total_fee', 'code'], query: [], reverse: [] },
};

/** Every parameter the calls define; anything else is an invalid request (40100). */
const known = new Set([
  ...'appid nonce_str sign mp_appid device_info body detail attach out_trade_no total_fee spbill_create_ip goods_tag auth_code scene_info transaction_id payment discount code sn'.split(
    ' ',
  ),
  ...refundParameters,
]);

/**
 * A BlueOcean Pay sandbox over HTTPS, strict as BlueOcean is: JSON requests signed with the account's key
 * (MD5, BlueOcean's rule) at both API generations (the seed's `/wechat/payment/micropay`,
 * `/wechat/order/query`, `/wechat/order/reverse`, and the unified `/payment/pay`, `/order/query`,
 * `/order/reverse`); BlueOcean's codes for a wrong method (4007), format (4001), appid (4002), missing
 * parameter (4003), signature (4004), unknown parameter (40100) and reused order numbers; answers
 * `{code, message, data}` whose data it signs as BlueOcean's reference code does (every field, empty ones
 * included). Outcomes by the last two digits of `auth_code` (SPEC section 6) in BlueOcean's words: 201 for
 * a payment still open, 40500 for a refused one, 40400 for busy. It records every call's time, so a test can
 * check the protocol's windows. Refunds and refund queries of both generations (`/wechat/payment/refund`,
 * `/wechat/payment/refundquery`, `/payment/refund`, `/order/refundquery`) by sandbox/blueocean-refunds.ts, outcomes
 * by the last two digits of `refund_fee` (SPEC section 8), kept per order (`refunds.refundsOf`). A test double:
 * nothing under core/, adapters/ or functions/ may import it.
 */
export class BlueoceanSandbox extends SandboxServer<Endpoint> {
  private readonly currency: string;
  private readonly keys = new Map<string, string>();
  private readonly orders = new Map<string, SandboxOrder>();
  private readonly routes = new Map<string, { api: string; endpoint: Endpoint }>();
  /** Its refunds (sandbox/blueocean-refunds.ts), kept per order. */
  readonly refunds: BlueoceanRefundDesk;

  constructor(options: BlueoceanSandboxOptions) {
    super('BlueOcean sandbox', ['pay', 'query', 'reverse'], {
      tls: options.pki.server,
      timeScale: options.timeScale,
    });
    this.currency = options.currency ?? 'HKD';
    this.refunds = new BlueoceanRefundDesk(this.currency);
    for (const { appid, key } of options.accounts) this.keys.set(appid, key);
    for (const [api, { paths }] of Object.entries(blueoceanApis)) {
      for (const endpoint of ['pay', 'query', 'reverse'] as const)
        this.routes.set(paths[endpoint], { api, endpoint });
    }
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = this.routes.get(req.url ?? '/') ?? refundRoutes.get(req.url ?? '/');
    if (!route) return send(res, { code: 404, message: '接口地址错误' });
    if (req.method !== 'POST') return send(res, { code: 4007, message: '请求方式错误' });
    const request = readRequest((await bodyOf(req)).toString('utf8'));
    try {
      if (!request) throw new Refusal(4001, '数据格式错误');
      const key = this.keys.get(request.appid ?? '');
      if (key === undefined) throw new Refusal(4002, '无效APPID');
      // A missing field (sign included) is named before the signature is checked: nothing to verify without it.
      const refund =
        route.endpoint === 'refund' || route.endpoint === 'refund_query' ? route.endpoint : undefined;
      const needs = refund
        ? refundRequired[route.api]?.[refund]
        : required[route.api]?.[route.endpoint as Endpoint];
      const missing = ['sign', ...(needs ?? [])].find((name) => !request[name]);
      if (missing) throw new Refusal(4003, `缺少参数${missing}`);
      const byOrder = route.endpoint !== 'pay' && route.endpoint !== 'refund_query';
      if (byOrder && !request.out_trade_no && !request.transaction_id && !request.sn) {
        throw new Refusal(4003, '缺少参数out_trade_no');
      }
      if (!signatureValid(request, key)) throw new Refusal(4004, '签名错误');
      const unknown = Object.keys(request).find((name) => !known.has(name));
      if (unknown) throw new Refusal(40100, `无效请求: 未定义的参数${unknown}`);
      if (refund) {
        const got = this.refunds.answer(refund, route.api, request, this.refundable(request));
        if (got.kind === 'hang') return this.hang(res);
        if (got.kind === 'refuse') throw new Refusal(got.code, got.message);
        return send(res, { code: 200, message: 'OK', data: withIntegers(signed(request, key, got.data)) });
      }
      const order = this.find(request);
      const outTradeNo = order?.outTradeNo ?? request.out_trade_no;
      if (outTradeNo) this.record(outTradeNo, route.endpoint as Endpoint);
      const answer = (data: Fields) =>
        send(res, { code: 200, message: 'OK', data: withIntegers(signed(request, key, data)) });
      switch (route.endpoint as Endpoint) {
        case 'pay': {
          if (order) throw new Refusal(...reuseRefusal(order.state));
          const data = this.pay(request, route.api);
          return data ? answer(data) : this.hang(res);
        }
        case 'query':
          return answer(this.query(order));
        case 'reverse':
          return answer(this.reverse(order, request.out_trade_no ?? '', route.api));
      }
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return send(res, { code: error.code, message: error.message });
    }
  }

  /** The order a refund call names, as the refund desk needs it. */
  private refundable(request: Fields): RefundableOrder | undefined {
    const order = this.find(request);
    return (
      order && {
        outTradeNo: order.outTradeNo,
        totalFee: order.totalFee,
        state: order.state,
        sn: order.sn,
        transactionId: order.transactionId,
      }
    );
  }

  private find(request: Fields): SandboxOrder | undefined {
    if (request.out_trade_no) return this.orders.get(request.out_trade_no);
    for (const order of this.orders.values()) {
      if (
        (request.sn && order.sn === request.sn) ||
        (request.transaction_id && order.transactionId === request.transaction_id)
      ) {
        return order;
      }
    }
    return undefined;
  }

  /** The outcome table (SPEC section 6); undefined when the sandbox must not answer at all. */
  private pay(request: Fields, api: string): Fields | undefined {
    const code = request[blueoceanApis[api]?.authCodeField ?? 'auth_code'] ?? '';
    if (!isWechatAuthCode(code)) throw new Refusal(40500, '授权码检验错误');
    if (!/^[1-9]\d{0,11}$/.test(request.total_fee ?? ''))
      throw new Refusal(40100, '无效请求: total_fee必须为正整数(港币分)');
    if (api === 'unified' && request.payment !== 'micropay') throw new Refusal(40100, '无效请求: payment');
    const outTradeNo = request.out_trade_no ?? sn();
    const played = wechatPlay.pay(outTradeNo, code, (opened) => {
      const order: SandboxOrder = {
        ...opened,
        api,
        totalFee: Number(request.total_fee),
        attach: request.attach ?? '',
        sn: sn(),
        transactionId: wechatTransactionId(),
      };
      this.orders.set(outTradeNo, order);
      return order;
    });
    switch (played.kind) {
      case 'paying':
        throw new Refusal(201, '刷卡结果未知状态: 用户支付中');
      case 'refused':
        // BlueOcean's code, WeChat's words.
        throw new Refusal(40500, wechatPayRefusal(played)[1]);
      case 'error':
        throw new Refusal(40400, '系统繁忙');
      case 'silent':
        return undefined;
      case 'paid':
        return this.paymentFields(played.order, 'pay');
    }
  }

  private query(order: SandboxOrder | undefined): Fields {
    if (!order) throw new Refusal(40102, '订单不存在');
    wechatPlay.query(order);
    if (order.state === 'SUCCESS') return this.paymentFields(order, 'query');
    return this.orderFields(order);
  }

  /**
   * The seed's reverse answers `recall` (Y: call again); the unified API's, as its document shows, returns the
   * order in its state (REVOKED once reversed) and no `recall`.
   */
  private reverse(order: SandboxOrder | undefined, outTradeNo: string, api: string): Fields {
    if (!order) {
      // Reversing an order BlueOcean never saw closes its number, so a late pay cannot go through.
      const closed: SandboxOrder = {
        ...wechatPlay.closed(outTradeNo),
        api,
        totalFee: 0,
        attach: '',
        sn: sn(),
      };
      this.orders.set(outTradeNo, closed);
      return api === 'unified' ? this.orderFields(closed) : { recall: 'N' };
    }
    if (order.state === 'REVOKED') throw new Refusal(40104, '订单已撤销');
    const answer = wechatPlay.reverse(order);
    if (answer === 'error') throw new Refusal(40400, '系统繁忙');
    if (order.api === 'unified') return this.orderFields(order);
    return { recall: answer === 'again' ? 'Y' : 'N' };
  }

  /** An order as query answers it when it is not paid: its ids and state. */
  private orderFields(order: SandboxOrder): Fields {
    return {
      out_trade_no: order.outTradeNo,
      sn: order.sn,
      trade_state: order.state,
      trade_state_desc: wechatStateDescriptions[order.state],
    };
  }

  /** A paid order's fields; the seed's pay answer lists no `trade_state` (its 200 is the payment itself). */
  private paymentFields(order: SandboxOrder, call: 'pay' | 'query'): Fields {
    const paidAt = Math.floor((order.paidAt ?? Date.now()) / 1000);
    return {
      sn: order.sn,
      transaction_id: order.transactionId ?? '',
      out_trade_no: order.outTradeNo,
      ...(call === 'pay' && order.api !== 'unified' ? {} : { trade_state: 'SUCCESS' }),
      trade_type: 'MICROPAY',
      bank_type: 'CFT',
      fee_type: this.currency,
      total_fee: String(order.totalFee),
      // WeChat charges the shopper in CNY; a fixed sandbox rate.
      cash_fee_type: 'CNY',
      cash_fee: String(Math.floor((order.totalFee * 92) / 100)),
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      is_subscribe: 'N',
      attach: order.attach,
      // Each generation and call writes the time its own way (seed: pay YYYYMMDDHHmmss, query with dashes).
      time_end:
        order.api === 'unified'
          ? String(paidAt)
          : toUtc8(paidAt * 1000, call === 'query' ? 'dashed' : 'compact'),
    };
  }
}

/** A JSON object of strings and integers, as text; undefined when the body is anything else. */
function readRequest(text: string): Fields | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const fields: Fields = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string') fields[name] = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) fields[name] = String(value);
    else return undefined;
  }
  return fields;
}

/** BlueOcean's reference signer (PHP `signData`): every field but `sign` and `key`, sorted, `&key=KEY`, MD5. */
function signOf(fields: Fields, key: string): string {
  const text = Object.keys(fields)
    .filter((name) => name !== 'sign' && name !== 'key')
    .sort()
    .map((name) => `${name}=${fields[name]}`)
    .concat(`key=${key}`)
    .join('&');
  return createHash('md5').update(text, 'utf8').digest('hex').toUpperCase();
}

function signatureValid(request: Fields, key: string): boolean {
  const expected = Buffer.from(signOf(request, key));
  const given = Buffer.from((request.sign ?? '').toUpperCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** An accepted call's data: the account's appid, a fresh nonce, the fields, signed. */
function signed(request: Fields, key: string, fields: Fields): Fields {
  const data: Fields = { appid: request.appid ?? '', nonce_str: randomBytes(5).toString('hex'), ...fields };
  data.sign = signOf(data, key);
  return data;
}

/** Amounts go out as JSON integers, as BlueOcean's documents type them (`Int`); the signature covers their text. */
function withIntegers(data: Fields): Record<string, string | number> {
  const out: Record<string, string | number> = { ...data };
  for (const name of ['total_fee', 'cash_fee']) {
    const value = data[name];
    if (value !== undefined && /^\d{1,15}$/.test(value)) out[name] = Number(value);
  }
  return out;
}

function reuseRefusal(state: WechatTradeState): [number, string] {
  if (state === 'SUCCESS') return [40101, '订单已支付'];
  if (state === 'REVOKED') return [40104, '订单已撤销'];
  return [40106, '订单号重复'];
}

/** BlueOcean's order number: 26 digits, "11…". */
function sn(): string {
  return `11${randomDigits(24)}`;
}

function send(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

/** Starts the BlueOcean sandbox with the sandbox merchants' account (M100000004's, HKD). */
export const blueoceanStarter: SandboxStarter = async ({ deadlineScale, pki }) => {
  const { account, credentials } = sandboxBlueocean;
  const sandbox = new BlueoceanSandbox({
    accounts: [{ appid: account.appid, key: credentials.api_key }],
    currency: account.currency,
    timeScale: deadlineScale,
    pki,
  });
  return {
    label: 'BlueOcean Pay sandbox',
    url: await sandbox.listen(),
    paths:
      '/wechat/payment/micropay, /wechat/order/query, /wechat/order/reverse, /wechat/payment/refund, /wechat/payment/refundquery (and /payment/pay, /payment/refund, /order/…)',
    credentials: {},
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo),
    callTimes: (outTradeNo) => sandbox.callTimes(outTradeNo),
    merchantAddFlags: () => `--blueocean-appid ${account.appid} --blueocean-key ${credentials.api_key}`,
    close: () => sandbox.close(),
  };
};
