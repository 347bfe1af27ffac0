import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { wechatPaths } from '#core/channels/wechat/wechat.ts';
import { fromXml, toWechatTime, toXml, type WireFields } from '#core/channels/wechat/wire.ts';
import { nonce } from '#core/ids.ts';
import { sign, verify } from '#core/signing.ts';

/** Calls the sandbox received for one `out_trade_no`, by endpoint. */
export interface SandboxCalls {
  micropay: number;
  orderquery: number;
  reverse: number;
}

interface SandboxOrder {
  readonly outcome: string;
  readonly fields: WireFields;
  /** WeChat's trade_state; undefined while WeChat has no such order (pay never arrived). */
  state: 'SUCCESS' | 'USERPAYING' | 'PAYERROR' | 'REVOKED' | 'CLOSED' | undefined;
  queries: number;
  reverses: number;
  paidAt?: number;
}

export interface WechatSandboxOptions {
  /** API key per `mch_id`; requests must be signed with it, answers are. */
  readonly keys: Readonly<Record<string, string>>;
  /** MICROPAY_TIME_SCALE: how long "does not answer in time" hangs (60 s × scale). */
  readonly timeScale: number;
}

/**
 * A WeChat Pay v2 sandbox over real HTTP: signed XML at `/pay/micropay`, `/pay/orderquery` and
 * `/secapi/pay/reverse`, outcomes chosen by the last two digits of `auth_code` (SPEC section 6).
 * `GET /sandbox/calls/<out_trade_no>` reports what it received for an order.
 */
export class WechatSandbox {
  private readonly options: WechatSandboxOptions;
  private readonly orders = new Map<string, SandboxOrder>();
  private readonly calls = new Map<string, SandboxCalls>();
  private readonly hanging = new Set<ServerResponse>();
  readonly server: Server;

  constructor(options: WechatSandboxOptions) {
    this.options = options;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.server.on('close', () => {
      for (const res of this.hanging) res.destroy();
    });
  }

  callsFor(outTradeNo: string): SandboxCalls {
    return { ...(this.calls.get(outTradeNo) ?? { micropay: 0, orderquery: 0, reverse: 0 }) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<undefined> {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith('/sandbox/calls/')) {
      const outTradeNo = decodeURIComponent(url.slice('/sandbox/calls/'.length));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(this.callsFor(outTradeNo)));
      return;
    }
    const endpoint = Object.entries(wechatPaths).find(([, path]) => path === url)?.[0] as
      | keyof typeof wechatPaths
      | undefined;
    if (!endpoint) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST')
      return this.reply(res, undefined, fail('REQUIRE_POST_METHOD', '请使用post方法'));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = fromXml(Buffer.concat(chunks).toString('utf8'));
    if (!request) return this.reply(res, undefined, fail('XML_FORMAT_ERROR', 'XML格式错误'));
    const key = this.options.keys[request.mch_id ?? ''];
    if (!key) return this.reply(res, undefined, fail('MCHID_NOT_EXIST', 'MCHID不存在'));
    if (!verify(request, key, 'MD5')) return this.reply(res, undefined, fail('SIGNERROR', '签名错误'));
    const outTradeNo = request.out_trade_no;
    if (!outTradeNo) return this.reply(res, key, fail('LACK_PARAMS', '缺少参数out_trade_no'));
    const calls = this.calls.get(outTradeNo) ?? { micropay: 0, orderquery: 0, reverse: 0 };
    calls[endpoint] += 1;
    this.calls.set(outTradeNo, calls);
    const base: WireFields = {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: request.appid ?? '',
      mch_id: request.mch_id ?? '',
    };
    switch (endpoint) {
      case 'micropay':
        return this.micropay(res, key, base, request, outTradeNo);
      case 'orderquery':
        return this.reply(res, key, { ...base, ...this.orderquery(outTradeNo) });
      case 'reverse':
        return this.reply(res, key, { ...base, ...this.reverse(outTradeNo) });
    }
  }

  private micropay(
    res: ServerResponse,
    key: string,
    base: WireFields,
    request: WireFields,
    outTradeNo: string,
  ): undefined {
    for (const field of ['body', 'total_fee', 'spbill_create_ip', 'auth_code', 'nonce_str'] as const) {
      if (!request[field])
        return this.reply(res, key, { ...base, ...resultFail('LACK_PARAMS', `缺少参数${field}`) });
    }
    if (this.orders.has(outTradeNo)) {
      return this.reply(res, key, { ...base, ...resultFail('OUT_TRADE_NO_USED', '商户订单号重复') });
    }
    const outcome = (request.auth_code ?? '').slice(-2);
    const order: SandboxOrder = { outcome, fields: request, state: undefined, queries: 0, reverses: 0 };
    const paid = (): WireFields => {
      order.state = 'SUCCESS';
      order.paidAt = Date.now();
      return { result_code: 'SUCCESS', ...this.paymentFields(order, outTradeNo) };
    };
    switch (outcome) {
      case '01':
      case '02':
      case '08':
      case '09':
      case '10':
        this.orders.set(outTradeNo, order);
        order.state = 'USERPAYING';
        return this.reply(res, key, { ...base, ...resultFail('USERPAYING', '用户支付中，需要输入密码') });
      case '03':
        return this.reply(res, key, { ...base, ...resultFail('NOTENOUGH', '余额不足') });
      case '04':
        return this.reply(res, key, {
          ...base,
          ...resultFail('AUTHCODEEXPIRE', '二维码已过期，请用户在微信上刷新后再试'),
        });
      case '05':
        this.orders.set(outTradeNo, order);
        paid();
        return this.reply(res, key, { ...base, ...resultFail('SYSTEMERROR', '系统超时') });
      case '06':
        this.orders.set(outTradeNo, order);
        paid();
        return this.hang(res);
      case '07':
        return this.hang(res);
      default:
        this.orders.set(outTradeNo, order);
        return this.reply(res, key, { ...base, ...paid() });
    }
  }

  private orderquery(outTradeNo: string): WireFields {
    const order = this.orders.get(outTradeNo);
    if (!order?.state) return resultFail('ORDERNOTEXIST', '此交易订单号不存在');
    order.queries += 1;
    if (order.state === 'USERPAYING') {
      if (order.outcome === '01' && order.queries >= 2) {
        order.state = 'SUCCESS';
        order.paidAt = Date.now();
      } else if (order.outcome === '08') {
        order.state = 'PAYERROR';
      }
    }
    const state = order.state;
    const description: Record<string, string> = {
      SUCCESS: '支付成功',
      USERPAYING: '用户支付中',
      PAYERROR: '支付失败(用户取消支付)',
      REVOKED: '已撤销',
      CLOSED: '已关闭',
    };
    return {
      result_code: 'SUCCESS',
      trade_state: state,
      trade_state_desc: description[state] ?? state,
      out_trade_no: outTradeNo,
      ...(state === 'SUCCESS' ? this.paymentFields(order, outTradeNo) : {}),
    };
  }

  private reverse(outTradeNo: string): WireFields {
    const order = this.orders.get(outTradeNo);
    if (order) {
      order.reverses += 1;
      if (order.outcome === '10' || (order.outcome === '09' && order.reverses === 1)) {
        return { ...resultFail('SYSTEMERROR', '系统超时'), recall: 'Y' };
      }
      order.state = 'REVOKED';
    } else {
      // Reversing an order WeChat never saw closes its number, so a late pay cannot go through.
      this.orders.set(outTradeNo, { outcome: '', fields: {}, state: 'REVOKED', queries: 0, reverses: 1 });
    }
    return { result_code: 'SUCCESS', recall: 'N' };
  }

  private paymentFields(order: SandboxOrder, outTradeNo: string): WireFields {
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
      transaction_id: `42000${randomBytes(10).toString('hex').replace(/\D/g, '7').slice(0, 23)}`,
      out_trade_no: outTradeNo,
      attach: order.fields.attach ?? '',
      time_end: toWechatTime(Math.floor((order.paidAt ?? Date.now()) / 1000)),
    };
  }

  /** "Does not answer in time": hold the request well past any client deadline, then drop it. */
  private hang(res: ServerResponse): undefined {
    this.hanging.add(res);
    const timer = setTimeout(() => res.destroy(), Math.max(50, 60_000 * this.options.timeScale));
    res.on('close', () => {
      clearTimeout(timer);
      this.hanging.delete(res);
    });
  }

  private reply(res: ServerResponse, key: string | undefined, fields: WireFields): undefined {
    const body: WireFields = { ...fields, nonce_str: nonce() };
    if (key && fields.return_code === 'SUCCESS') body.sign = sign(body, key, 'MD5');
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(toXml(body));
  }
}

function fail(code: string, message: string): WireFields {
  return { return_code: 'FAIL', return_msg: `${code}: ${message}` };
}

function resultFail(errCode: string, description: string): WireFields {
  return { result_code: 'FAIL', err_code: errCode, err_code_des: description };
}
