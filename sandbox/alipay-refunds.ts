import { toUtc8 } from '#core/channels/kit/time.ts';
import { fenToYuan, yuanToFen } from '#core/money.ts';
import { refundAfterQuery, refundBehaviour } from './outcomes.ts';

/** The refund methods the Alipay sandbox serves at its gateway, beside pay, query and cancel. */
export const alipayRefundMethods = ['alipay.trade.refund', 'alipay.trade.fastpay.refund.query'] as const;
export type AlipayRefundMethod = (typeof alipayRefundMethods)[number];

export function isAlipayRefundMethod(method: string): method is AlipayRefundMethod {
  return (alipayRefundMethods as readonly string[]).includes(method);
}

/** The buyer the sandbox's trades are paid by, as its answers name them. */
export const alipaySandboxBuyer = {
  buyer_logon_id: '159****5620',
  buyer_user_id: '2088102146225135',
} as const;

/** A trade as the sandbox holds it: what a refund is checked against, and closed by once refunded in full. */
export interface RefundableTrade {
  readonly outTradeNo: string;
  /** Alipay's trade number; absent for a number only closed by a cancel (Alipay never had that trade). */
  readonly tradeNo?: string;
  /** The amount paid, yuan as the merchant wrote it. */
  readonly totalAmount: string;
  status: 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';
}

/**
 * One refund in the sandbox's ledger, by its trade and `out_request_no`. `NONE`: the number was received but
 * nothing was refunded (no answer in time, nothing taken; or refused). `PROCESSING`: accepted, being made.
 * `SUCCESS`: refunded (`cardReturnFailed`: the return to the buyer's bank card failed, and Alipay put the money in
 * the buyer's Alipay balance). `FAIL`: failed, nothing refunded.
 */
export interface SandboxAlipayRefund {
  readonly outTradeNo: string;
  readonly outRequestNo: string;
  /** Fen. */
  readonly fee: number;
  readonly reason?: string;
  state: 'NONE' | 'PROCESSING' | 'SUCCESS' | 'FAIL';
  /** Refund calls received under this number. */
  sends: number;
  /** Refund queries received for it. */
  queries: number;
  refundedAt?: number;
  cardReturnFailed?: boolean;
}

/** What the desk answers: a node for the gateway to sign and send, or no answer in time. */
export type RefundDeskAnswer =
  | { readonly kind: 'node'; readonly node: Readonly<Record<string, unknown>> }
  | { readonly kind: 'silent' };

type Biz = Readonly<Record<string, unknown>>;

/** A refusal, as the gateway writes a business failure: the node to send. */
class Refused extends Error {
  readonly node: Readonly<Record<string, unknown>>;
  constructor(subCode: string, subMsg: string, extra: Biz = {}) {
    super(`${subCode}: ${subMsg}`);
    this.node = { code: '40004', msg: 'Business Failed', sub_code: subCode, sub_msg: subMsg, ...extra };
  }
}

/**
 * The Alipay sandbox's refunds (统一收单交易退款接口 and 统一收单交易退款查询), in Alipay's words, kept per trade so
 * statements can list them. Outcomes by the last two digits of the refund amount in fen (SPEC section 8;
 * sandbox/outcomes.ts): a refund made answers `fund_change=Y`; one accepted but not made yet answers
 * `fund_change=N`, and its query shows no `refund_status` until it is `REFUND_SUCCESS` or `REFUND_FAIL`. A call
 * under a number already received is idempotent: a refund made is answered again with `fund_change=N` (nothing
 * moved this time), one received but never made is made now. Refuses what Alipay refuses: an unknown trade
 * (`ACQ.TRADE_NOT_EXIST`), one not paid (`ACQ.TRADE_STATUS_ERROR`) or closed (`ACQ.TRADE_HAS_CLOSE`), more than
 * was paid (`ACQ.REASON_TRADE_REFUND_FEE_ERR`), a partial refund without a refund number
 * (`ACQ.REFUND_AMT_NOT_EQUAL_TOTAL`), a number reused for another amount (`ACQ.DISCORDANT_REPEAT_REQUEST`).
 */
export class AlipayRefundDesk {
  private readonly byTrade = new Map<string, Map<string, SandboxAlipayRefund>>();

  /** Every refund the sandbox holds for a trade, in the order their numbers first arrived. */
  refundsOf(outTradeNo: string): readonly SandboxAlipayRefund[] {
    return [...(this.byTrade.get(outTradeNo)?.values() ?? [])].map((refund) => ({ ...refund }));
  }

  /** Answers one refund call or refund query about `trade` (undefined when the sandbox has no such trade). */
  answer(method: AlipayRefundMethod, biz: Biz, trade: RefundableTrade | undefined): RefundDeskAnswer {
    try {
      return method === 'alipay.trade.refund' ? this.refund(biz, trade) : this.query(biz, trade);
    } catch (error) {
      if (error instanceof Refused) return { kind: 'node', node: error.node };
      throw error;
    }
  }

  private refund(biz: Biz, trade: RefundableTrade | undefined): RefundDeskAnswer {
    const fee = checkRefundParameters(biz);
    if (!trade?.tradeNo) throw new Refused('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const refusedAbout = { out_trade_no: trade.outTradeNo, refund_fee: '0.00', send_back_fee: '0.00' };
    const given = text(biz.out_request_no);
    // Without a refund number the refund is the whole trade, under the trade's own number.
    if (given === undefined && fee !== yuanToFen(trade.totalAmount)) {
      throw new Refused('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限', refusedAbout);
    }
    const number = given ?? trade.outTradeNo;
    const ledger = this.ledgerOf(trade.outTradeNo);
    const known = ledger.get(number);
    if (known && known.fee !== fee) {
      throw new Refused('ACQ.DISCORDANT_REPEAT_REQUEST', '请求信息不一致', refusedAbout);
    }
    const refund: SandboxAlipayRefund = known ?? {
      outTradeNo: trade.outTradeNo,
      outRequestNo: number,
      fee,
      reason: text(biz.refund_reason),
      state: 'NONE',
      sends: 0,
      queries: 0,
    };
    refund.sends += 1;
    // Received before and made, or being made: the same refund, nothing moves again.
    if (refund.state === 'SUCCESS' || refund.state === 'PROCESSING') return this.refundNode(trade, 'N');
    if (trade.status === 'WAIT_BUYER_PAY') {
      throw new Refused('ACQ.TRADE_STATUS_ERROR', '交易状态非法', refusedAbout);
    }
    if (trade.status === 'TRADE_CLOSED') throw new Refused('ACQ.TRADE_HAS_CLOSE', '交易已关闭', refusedAbout);
    if (this.held(trade.outTradeNo, refund) + fee > (yuanToFen(trade.totalAmount) ?? 0)) {
      throw new Refused('ACQ.REASON_TRADE_REFUND_FEE_ERR', '退款金额无效', refusedAbout);
    }
    ledger.set(number, refund);
    const behaviour = refundBehaviour(fee, refund.sends);
    switch (behaviour.kind) {
      case 'refused':
        refund.state = 'NONE';
        throw new Refused('ACQ.SELLER_BALANCE_NOT_ENOUGH', '卖家余额不足', refusedAbout);
      case 'silent':
        if (behaviour.taken) this.made(trade, refund);
        return { kind: 'silent' };
      case 'processing':
        refund.state = 'PROCESSING';
        return this.refundNode(trade, 'N');
      case 'refunded':
        this.made(trade, refund);
        return this.refundNode(trade, 'Y', refund.refundedAt);
    }
  }

  private query(biz: Biz, trade: RefundableTrade | undefined): RefundDeskAnswer {
    if (!text(biz.out_trade_no) && !text(biz.trade_no)) {
      throw new Refused('ACQ.INVALID_PARAMETER', '参数无效: out_trade_no和trade_no不能同时为空');
    }
    const number = text(biz.out_request_no);
    if (number === undefined) throw new Refused('ACQ.INVALID_PARAMETER', '参数无效: 缺少out_request_no');
    if (!trade?.tradeNo) throw new Refused('ACQ.TRADE_NOT_EXIST', '查询退款的交易不存在');
    const ids = { trade_no: trade.tradeNo, out_trade_no: trade.outTradeNo, out_request_no: number };
    const refund = this.byTrade.get(trade.outTradeNo)?.get(number);
    // No refund under this number: the query succeeds and states no refund.
    if (!refund || refund.state === 'NONE') return node({ code: '10000', msg: 'Success', ...ids });
    refund.queries += 1;
    if (refund.state === 'PROCESSING') {
      const now = refundAfterQuery(refund.fee, refund.queries);
      if (now === 'closed') refund.state = 'FAIL';
      else if (now !== 'processing') {
        // Alipay has no refund that leaves the merchant without reaching the buyer: a return to a bank card that
        // fails is put in the buyer's Alipay balance ("银行卡冲退失败，资金自动转入用户支付宝余额"), and refunded.
        refund.cardReturnFailed = now === 'change';
        this.made(trade, refund);
      }
    }
    const options = Array.isArray(biz.query_options) ? (biz.query_options as unknown[]) : [];
    const made = refund.state === 'SUCCESS';
    return node({
      code: '10000',
      msg: 'Success',
      ...ids,
      total_amount: fenToYuan(yuanToFen(trade.totalAmount) ?? 0),
      refund_amount: fenToYuan(refund.fee),
      ...(refund.reason ? { refund_reason: refund.reason } : {}),
      // A refund still being made states no refund_status.
      ...(made
        ? { refund_status: 'REFUND_SUCCESS' }
        : refund.state === 'FAIL'
          ? { refund_status: 'REFUND_FAIL' }
          : {}),
      ...(made && options.includes('gmt_refund_pay')
        ? { gmt_refund_pay: toUtc8(refund.refundedAt ?? 0, 'dashed') }
        : {}),
      ...(made && options.includes('deposit_back_info')
        ? {
            deposit_back_info: {
              has_deposit_back: 'true',
              dback_status: refund.cardReturnFailed ? 'F' : 'S',
              ...(refund.cardReturnFailed ? {} : { dback_amount: fenToYuan(refund.fee) }),
            },
          }
        : {}),
    });
  }

  /** `alipay.trade.refund`'s answer: `refund_fee` is what the trade has had refunded in all. */
  private refundNode(trade: RefundableTrade, fundChange: 'Y' | 'N', refundedAt?: number): RefundDeskAnswer {
    return node({
      code: '10000',
      msg: 'Success',
      trade_no: trade.tradeNo,
      out_trade_no: trade.outTradeNo,
      ...alipaySandboxBuyer,
      fund_change: fundChange,
      refund_fee: fenToYuan(this.refunded(trade.outTradeNo)),
      ...(refundedAt === undefined ? {} : { gmt_refund_pay: toUtc8(refundedAt, 'dashed') }),
    });
  }

  /** The refund is made; a trade refunded in full is closed ("TRADE_CLOSED: … 或支付完成后全额退款"). */
  private made(trade: RefundableTrade, refund: SandboxAlipayRefund): void {
    refund.state = 'SUCCESS';
    refund.refundedAt = Date.now();
    if (this.refunded(trade.outTradeNo) >= (yuanToFen(trade.totalAmount) ?? 0)) trade.status = 'TRADE_CLOSED';
  }

  private ledgerOf(outTradeNo: string): Map<string, SandboxAlipayRefund> {
    const ledger = this.byTrade.get(outTradeNo) ?? new Map<string, SandboxAlipayRefund>();
    this.byTrade.set(outTradeNo, ledger);
    return ledger;
  }

  /** Fen refunded from a trade. */
  private refunded(outTradeNo: string): number {
    return this.refundsOf(outTradeNo)
      .filter((r) => r.state === 'SUCCESS')
      .reduce((sum, r) => sum + r.fee, 0);
  }

  /** Fen a trade's other refunds hold: made, or being made. */
  private held(outTradeNo: string, except: SandboxAlipayRefund): number {
    return [...(this.byTrade.get(outTradeNo)?.values() ?? [])]
      .filter((r) => r !== except && (r.state === 'SUCCESS' || r.state === 'PROCESSING'))
      .reduce((sum, r) => sum + r.fee, 0);
  }
}

function node(fields: Readonly<Record<string, unknown>>): RefundDeskAnswer {
  return { kind: 'node', node: fields };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `alipay.trade.refund`'s business parameters, checked as Alipay documents them; returns the amount in fen. */
function checkRefundParameters(biz: Biz): number {
  const invalid = (what: string) => new Refused('ACQ.INVALID_PARAMETER', `参数无效: ${what}`);
  if (!text(biz.out_trade_no) && !text(biz.trade_no)) throw invalid('out_trade_no和trade_no不能同时为空');
  const fee = yuanToFen(text(biz.refund_amount));
  if (fee === undefined || fee < 1) throw invalid('refund_amount须为大于0、最多两位小数的金额(元)');
  const limits: [string, number][] = [
    ['out_request_no', 64],
    ['refund_reason', 256],
  ];
  for (const [name, max] of limits) {
    const value = biz[name];
    if (value !== undefined && (typeof value !== 'string' || value.length > max)) {
      throw invalid(`${name}须为${max}个字符以内的字符串`);
    }
  }
  return fee;
}
