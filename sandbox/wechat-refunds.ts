import { toUtc8 } from '#core/channels/kit/time.ts';
import { randomDigits } from './orders.ts';
import { refundAfterQuery, refundBehaviour } from './outcomes.ts';
import { CodedRefusal } from './server.ts';
import type { BillableRefund } from './wechat-bill.ts';

type Fields = Record<string, string>;

/** refundquery's `refund_status_$n`. */
export type WechatRefundStatus = 'PROCESSING' | 'SUCCESS' | 'REFUNDCLOSE' | 'CHANGE';

/** An order as the refund desk needs it: paid (or not), its request's fields, and its refunds, which it keeps. */
export interface RefundableWechatOrder {
  readonly outTradeNo: string;
  readonly state: string;
  readonly transactionId?: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly refunds: SandboxWechatRefund[];
}

/** One refund WeChat accepted, in the order's ledger (the statement lists it, sandbox/wechat-bill.ts). */
export interface SandboxWechatRefund extends BillableRefund {
  readonly outRefundNo: string;
  /** WeChat's refund number: 29 digits, "503…". */
  readonly refundId: string;
  readonly fee: number;
  status: WechatRefundStatus;
  queries: number;
  readonly acceptedAt: number;
  successAt?: number;
}

/** What the desk answers: the business fields for a signed SUCCESS answer, or no answer in time. */
export type WechatRefundAnswer =
  | { readonly kind: 'fields'; readonly fields: Fields }
  | { readonly kind: 'silent' };

/** Every parameter 申请退款 and 查询退款 define (`op_user_id`: the older refund document required it; tenpay sends it). */
export const refundParameters = {
  refund:
    'transaction_id out_trade_no out_refund_no total_fee refund_fee refund_fee_type refund_desc refund_account notify_url op_user_id',
  refundquery: 'transaction_id out_trade_no out_refund_no refund_id offset',
} as const;

/**
 * The WeChat sandbox's refunds (申请退款 and 查询退款) in WeChat's words, kept in each order's ledger. Outcomes by the
 * last two digits of `refund_fee` (SPEC section 8, sandbox/outcomes.ts). A refund number names one refund forever:
 * sent again with the same order and amounts it is answered as it was accepted (nothing moves again), with another
 * amount it is REFUND_FEE_MISMATCH. Refuses what WeChat refuses: an order not paid (ORDERNOTEXIST), more than the
 * order has left (INVALID_REQUEST), a `total_fee` that is not the order's.
 */
export class WechatRefundDesk {
  private readonly byNumber = new Map<string, SandboxWechatRefund>();
  private readonly byRefundId = new Map<string, SandboxWechatRefund>();
  /** Refund calls received per number, those that made no refund included (the 06 and 07 outcomes). */
  private readonly sends = new Map<string, number>();

  /** The refund a refundquery names by refund_id or out_refund_no (refund_id wins); undefined when none. */
  named(request: Fields): SandboxWechatRefund | undefined {
    if (request.refund_id) return this.byRefundId.get(request.refund_id);
    return request.out_refund_no ? this.byNumber.get(request.out_refund_no) : undefined;
  }

  /** The order a refund belongs to is found by the caller; this checks the amounts and plays the outcome table. */
  refund(order: RefundableWechatOrder | undefined, request: Fields): WechatRefundAnswer {
    if (!order?.transactionId || order.state !== 'SUCCESS') {
      throw new CodedRefusal('ORDERNOTEXIST', '订单号不存在或未支付，未支付的订单不能发起退款');
    }
    const number = request.out_refund_no ?? '';
    const fee = Number(request.refund_fee);
    const mismatch = () =>
      new CodedRefusal('REFUND_FEE_MISMATCH', '订单金额或退款金额与之前请求不一致，请核实后再试');
    if (request.total_fee !== order.fields.total_fee) throw mismatch();
    const known = this.byNumber.get(number);
    if (known) {
      if (!order.refunds.includes(known) || known.fee !== fee) throw mismatch();
      return { kind: 'fields', fields: accepted(order, known) };
    }
    const sends = (this.sends.get(number) ?? 0) + 1;
    this.sends.set(number, sends);
    if (heldFee(order) + fee > Number(order.fields.total_fee)) {
      throw new CodedRefusal('INVALID_REQUEST', '申请退款金额超过订单可退金额');
    }
    const create = (status: WechatRefundStatus): SandboxWechatRefund => {
      const now = Date.now();
      const refund: SandboxWechatRefund = {
        outRefundNo: number,
        refundId: `503${randomDigits(26)}`,
        fee,
        status,
        queries: 0,
        acceptedAt: now,
        successAt: status === 'SUCCESS' ? now : undefined,
      };
      order.refunds.push(refund);
      this.byNumber.set(number, refund);
      this.byRefundId.set(refund.refundId, refund);
      return refund;
    };
    const behaviour = refundBehaviour(fee, sends);
    switch (behaviour.kind) {
      case 'refused':
        throw new CodedRefusal('NOTENOUGH', '基本账户余额不足，请充值后重新发起');
      case 'silent':
        if (behaviour.taken) create('SUCCESS');
        return { kind: 'silent' };
      case 'processing':
        return { kind: 'fields', fields: accepted(order, create('PROCESSING')) };
      case 'refunded':
        return { kind: 'fields', fields: accepted(order, create('SUCCESS')) };
    }
  }

  /**
   * 查询退款: the named refund, or the order's refunds ten at a time from `offset` (with total_refund_count), each
   * as `*_$n` fields. Each query moves a processing refund on by the outcome table (`refundAfterQuery`).
   */
  query(request: Fields, order: RefundableWechatOrder | undefined): Fields {
    const named = this.named(request);
    const byRefund = Boolean(request.refund_id || request.out_refund_no);
    if ((byRefund && !named) || !order || order.refunds.length === 0) {
      throw new CodedRefusal('REFUNDNOTEXIST', 'not exist');
    }
    const offset = Number(request.offset ?? 0);
    if (!byRefund && offset >= order.refunds.length) {
      throw new CodedRefusal('PARAM_ERROR', '参数错误: offset超过total_refund_count');
    }
    const listed = named ? [named] : order.refunds.slice(offset, offset + 10);
    const fields: Fields = {
      result_code: 'SUCCESS',
      transaction_id: order.transactionId ?? '',
      out_trade_no: order.outTradeNo,
      total_fee: order.fields.total_fee ?? '0',
      cash_fee: order.fields.total_fee ?? '0',
      // 退款总金额: every refund of the order, not only the ones listed.
      refund_fee: String(heldFee(order)),
      refund_count: String(listed.length),
      ...(byRefund ? {} : { total_refund_count: String(order.refunds.length) }),
    };
    listed.forEach((refund, n) => {
      refund.queries += 1;
      if (refund.status === 'PROCESSING') {
        const now = refundAfterQuery(refund.fee, refund.queries);
        if (now === 'refunded') {
          refund.status = 'SUCCESS';
          refund.successAt = Date.now();
        } else if (now === 'change') refund.status = 'CHANGE';
        else if (now === 'closed') refund.status = 'REFUNDCLOSE';
      }
      Object.assign(fields, {
        [`out_refund_no_${n}`]: refund.outRefundNo,
        [`refund_id_${n}`]: refund.refundId,
        [`refund_channel_${n}`]: 'ORIGINAL',
        [`refund_fee_${n}`]: String(refund.fee),
        [`settlement_refund_fee_${n}`]: String(refund.fee),
        [`refund_status_${n}`]: refund.status,
        [`refund_account_${n}`]: 'REFUND_SOURCE_UNSETTLED_FUNDS',
        [`refund_recv_accout_${n}`]: '支付用户零钱',
        ...(refund.successAt === undefined
          ? {}
          : { [`refund_success_time_${n}`]: toUtc8(refund.successAt, 'dashed') }),
      });
    });
    return fields;
  }
}

/** Fen the order's refunds hold: every one but those closed (退款关闭), which refunded nothing. */
function heldFee(order: RefundableWechatOrder): number {
  return order.refunds.filter((r) => r.status !== 'REFUNDCLOSE').reduce((sum, r) => sum + r.fee, 0);
}

/** 申请退款's answer for an accepted refund. */
function accepted(order: RefundableWechatOrder, refund: SandboxWechatRefund): Fields {
  return {
    result_code: 'SUCCESS',
    transaction_id: order.transactionId ?? '',
    out_trade_no: order.outTradeNo,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    refund_fee: String(refund.fee),
    total_fee: order.fields.total_fee ?? '0',
    cash_fee: order.fields.total_fee ?? '0',
    cash_refund_fee: String(refund.fee),
  };
}
