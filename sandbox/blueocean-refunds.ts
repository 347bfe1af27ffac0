import { randomInt } from 'node:crypto';
import { blueoceanRefundApis } from '#core/channels/blueocean/protocol.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { refundAfterQuery, refundBehaviour } from './outcomes.ts';

type Fields = Record<string, string>;

/** A refund call of one API generation (protocol.ts `blueoceanRefundApis`). */
export type RefundCall = 'refund' | 'refund_query';

/** The sandbox's refund paths: each generation's refund and refund query. */
export const refundRoutes: ReadonlyMap<string, { readonly api: string; readonly endpoint: RefundCall }> =
  new Map(
    Object.entries(blueoceanRefundApis).flatMap(([api, { paths }]) =>
      (['refund', 'refund_query'] as const).map(
        (endpoint) => [endpoint === 'refund' ? paths.refund : paths.refundQuery, { api, endpoint }] as const,
      ),
    ),
  );

/** What each generation's refund calls require beside `appid` and `sign` (payment-refund.md, zh_CN.md 2.2). */
export const refundRequired: Readonly<Record<string, Readonly<Record<RefundCall, readonly string[]>>>> = {
  wechat: {
    refund: ['nonce_str', 'out_trade_no', 'out_refund_no', 'total_fee', 'refund_fee'],
    refund_query: ['nonce_str', 'out_trade_no'],
  },
  unified: { refund: [], refund_query: ['customer_refund_no'] },
};

/** The parameters the refund calls define (beside the order's `out_trade_no`, `sn`, `transaction_id`). */
export const refundParameters: readonly string[] = [
  'out_refund_no',
  'refund_fee',
  'refund_desc',
  'password',
  'customer_refund_no',
];

/** An order as the sandbox holds it, as far as a refund needs it. */
export interface RefundableOrder {
  readonly outTradeNo: string;
  readonly totalFee: number;
  /** BlueOcean's trade_state: only `SUCCESS` can be refunded. */
  readonly state: string;
  readonly sn: string;
  readonly transactionId?: string;
}

/** One refund the sandbox holds: what it took (`SUCCESS`, `PROCESSING`, `CHANGE`), closed, or never took (`NONE`). */
export interface SandboxBlueoceanRefund {
  readonly appid: string;
  readonly api: string;
  readonly outTradeNo: string;
  readonly sn: string;
  readonly transactionId: string;
  readonly totalFee: number;
  readonly outRefundNo: string;
  readonly refundId: string;
  readonly refundFee: number;
  readonly refundDesc: string;
  state: 'NONE' | 'PROCESSING' | 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';
  /** Calls under this refund number, and queries that found it. */
  sends: number;
  queries: number;
  createdAt: number;
  refundedAt?: number;
}

/** How the sandbox answers a refund call: `data` (signed by the caller, code 200), a refusal, or nothing in time. */
export type RefundDeskAnswer =
  | { readonly kind: 'data'; readonly data: Fields }
  | { readonly kind: 'refuse'; readonly code: number; readonly message: string }
  | { readonly kind: 'hang' };

const refuse = (code: number, message: string): RefundDeskAnswer => ({ kind: 'refuse', code, message });

/** Refunds that took money (or will): what the order can no longer refund. */
const holding = (refund: SandboxBlueoceanRefund) => refund.state !== 'NONE' && refund.state !== 'REFUNDCLOSE';

/** The sandbox's cash rate: WeChat charges HKD orders in CNY (as the pay answers' `cash_fee`). */
const cashFen = (fee: number) => Math.floor((fee * 92) / 100);

/**
 * BlueOcean's refunds in the sandbox, in each generation's words: the wechat generation's `/wechat/payment/refund`
 * (the refund accepted, its state left to the refund query) and `/wechat/payment/refundquery` (the order's refunds
 * as `_$n` fields), and the unified `/payment/refund` (answering the refund with `refund_status`) and
 * `/order/refundquery` (one refund, by `customer_refund_no`). Outcomes by the last two digits of `refund_fee`
 * (SPEC section 8, sandbox/outcomes.ts); the refunds of each order are kept (`refundsOf`) for its statements.
 * BlueOcean's refusals: an unknown order (40102), one not paid (closed 40103, reversed 40104, else 40100), more
 * than is left (40100), a number used for another refund (40100; unified: 493001 for any repeat, which its
 * document lists as "退款单号重复"), the merchant's balance short (40107, outcome 03).
 */
export class BlueoceanRefundDesk {
  private readonly currency: string;
  private readonly byNumber = new Map<string, SandboxBlueoceanRefund>();
  private readonly byOrder = new Map<string, SandboxBlueoceanRefund[]>();

  constructor(currency: string) {
    this.currency = currency;
  }

  /** Every refund of one order the sandbox was asked for, oldest first (those it never took included). */
  refundsOf(outTradeNo: string): readonly SandboxBlueoceanRefund[] {
    return [...(this.byOrder.get(outTradeNo) ?? [])];
  }

  /** Answers one signed, checked refund call (`blueocean.ts` checks appid, parameters and signature first). */
  answer(
    endpoint: RefundCall,
    api: string,
    request: Fields,
    order: RefundableOrder | undefined,
    now = Date.now(),
  ): RefundDeskAnswer {
    return endpoint === 'refund'
      ? this.refund(api, request, order, now)
      : this.query(api, request, order, now);
  }

  private refund(
    api: string,
    request: Fields,
    order: RefundableOrder | undefined,
    now: number,
  ): RefundDeskAnswer {
    if (!order) return refuse(40102, '订单不存在');
    if (order.state === 'REVOKED') return refuse(40104, '订单已撤销');
    if (order.state === 'PAYERROR' || order.state === 'CLOSED') return refuse(40103, '订单已关闭');
    if (order.state !== 'SUCCESS') return refuse(40100, '无效请求: 订单未支付');
    if (api === 'wechat' && request.total_fee !== String(order.totalFee)) {
      return refuse(40100, '无效请求: total_fee与订单金额不符');
    }
    // The unified API refunds the whole order when no amount is given (zh_CN.md 2.2).
    const feeText = request.refund_fee ?? (api === 'unified' ? String(order.totalFee) : '');
    if (!/^[1-9]\d{0,11}$/.test(feeText)) return refuse(40100, '无效请求: refund_fee必须为正整数');
    const refundFee = Number(feeText);
    const number = request.out_refund_no || `R${order.sn}${randomInt(1_000_000)}`;
    const known = this.byNumber.get(number);
    if (known && (known.outTradeNo !== order.outTradeNo || known.refundFee !== refundFee)) {
      return api === 'unified'
        ? refuse(493001, '退款单号重复')
        : refuse(40100, '无效请求: 退款单号已用于其他退款');
    }
    const refund = known ?? this.record(api, request, order, number, refundFee, now);
    refund.sends += 1;
    if (refund.state !== 'NONE') {
      // The wechat generation takes a repeat under the same number as WeChat does (payment-refund.md 注意 2).
      return api === 'unified' ? refuse(493001, '退款单号重复') : this.refundAnswer(api, refund);
    }
    const behaviour = refundBehaviour(refundFee, refund.sends);
    const left =
      order.totalFee -
      this.refundsOf(order.outTradeNo)
        .filter(holding)
        .reduce((s, r) => s + r.refundFee, 0);
    if (refundFee > left) return refuse(40100, `无效请求: 退款金额超过可退金额(${left})`);
    switch (behaviour.kind) {
      case 'refused':
        return refuse(40107, '余额不足');
      case 'silent':
        if (behaviour.taken) this.succeed(refund, now);
        return { kind: 'hang' };
      case 'processing':
        refund.state = 'PROCESSING';
        return this.refundAnswer(api, refund);
      case 'refunded':
        this.succeed(refund, now);
        return this.refundAnswer(api, refund);
    }
  }

  private query(
    api: string,
    request: Fields,
    order: RefundableOrder | undefined,
    now: number,
  ): RefundDeskAnswer {
    if (api === 'unified') {
      const refund = this.byNumber.get(request.customer_refund_no ?? '');
      if (!refund || refund.state === 'NONE') return refuse(492002, '数据不存在');
      this.advance(refund, now);
      return { kind: 'data', data: this.unifiedRefund(refund, 'dashed') };
    }
    if (!order) return refuse(40102, '订单不存在');
    const listed = this.refundsOf(order.outTradeNo).filter((r) => r.state !== 'NONE');
    if (listed.length === 0) return refuse(40102, '订单不存在');
    for (const refund of listed) this.advance(refund, now);
    const data: Fields = {
      out_trade_no: order.outTradeNo,
      transaction_id: order.transactionId ?? '',
      total_fee: String(order.totalFee),
      fee_type: this.currency,
      cash_fee: String(cashFen(order.totalFee)),
      cash_fee_type: 'CNY',
      refund_count: String(listed.length),
      refund_fee: String(listed.reduce((sum, r) => sum + r.refundFee, 0)),
    };
    listed.forEach((refund, n) => {
      data[`out_refund_no_${n}`] = refund.outRefundNo;
      data[`refund_id_${n}`] = refund.refundId;
      data[`refund_fee_${n}`] = String(refund.refundFee);
      data[`refund_status_${n}`] = refund.state;
      data[`refund_channel_${n}`] = 'ORIGINAL';
      data[`refund_recv_accout_${n}`] = '支付用户的零钱';
    });
    // The document's `refund_success_time` has no `$n`: given when the order has one refund, and it succeeded.
    const only = listed.length === 1 ? listed[0] : undefined;
    if (only?.refundedAt !== undefined) data.refund_success_time = toUtc8(only.refundedAt, 'dashed');
    return { kind: 'data', data };
  }

  private record(
    api: string,
    request: Fields,
    order: RefundableOrder,
    number: string,
    refundFee: number,
    now: number,
  ): SandboxBlueoceanRefund {
    const refund: SandboxBlueoceanRefund = {
      appid: request.appid ?? '',
      api,
      outTradeNo: order.outTradeNo,
      sn: order.sn,
      transactionId: order.transactionId ?? '',
      totalFee: order.totalFee,
      outRefundNo: number,
      refundId: `50000${Array.from({ length: 24 }, () => randomInt(10)).join('')}`,
      refundFee,
      refundDesc: request.refund_desc ?? '',
      state: 'NONE',
      sends: 0,
      queries: 0,
      createdAt: now,
    };
    this.byNumber.set(number, refund);
    this.byOrder.set(order.outTradeNo, [...(this.byOrder.get(order.outTradeNo) ?? []), refund]);
    return refund;
  }

  private succeed(refund: SandboxBlueoceanRefund, now: number): void {
    refund.state = 'SUCCESS';
    refund.refundedAt = now;
  }

  /** What a processing refund has become at this query (SPEC section 8's table). */
  private advance(refund: SandboxBlueoceanRefund, now: number): void {
    refund.queries += 1;
    if (refund.state !== 'PROCESSING') return;
    const after = refundAfterQuery(refund.refundFee, refund.queries);
    if (after === 'refunded') this.succeed(refund, now);
    else if (after === 'change') refund.state = 'CHANGE';
    else if (after === 'closed') refund.state = 'REFUNDCLOSE';
  }

  /**
   * A refund call's answer. The wechat generation lists the refund's ids and amounts (payment-refund.md), no
   * state; the unified one returns the refund with its `refund_status` (zh_CN.md 2.2 响应示例).
   */
  private refundAnswer(api: string, refund: SandboxBlueoceanRefund): RefundDeskAnswer {
    if (api === 'unified') return { kind: 'data', data: this.unifiedRefund(refund, 'epoch') };
    return {
      kind: 'data',
      data: {
        transaction_id: refund.transactionId,
        out_trade_no: refund.outTradeNo,
        out_refund_no: refund.outRefundNo,
        refund_id: refund.refundId,
        total_fee: String(refund.totalFee),
        fee_type: this.currency,
        refund_fee: String(refund.refundFee),
        refund_fee_type: this.currency,
        cash_fee: String(cashFen(refund.totalFee)),
        cash_fee_type: 'CNY',
        cash_refund_fee: String(cashFen(refund.refundFee)),
        cash_refund_fee_type: 'CNY',
        rate: '0.92000000',
      },
    };
  }

  /**
   * A refund as the unified API writes it (zh_CN.md 2.2 / 2.2.1 响应示例): `refund_time` in epoch seconds in the
   * refund's answer, `YYYY-MM-DD HH:mm:ss` (Hong Kong time) in the refund query's.
   */
  private unifiedRefund(refund: SandboxBlueoceanRefund, time: 'epoch' | 'dashed'): Fields {
    const at = refund.refundedAt;
    return {
      sn: refund.sn,
      out_trade_no: refund.outTradeNo,
      transaction_id: refund.transactionId,
      out_refund_no: refund.outRefundNo,
      refund_id: refund.refundId,
      provider: 'wechat',
      trade_type: 'MICROPAY',
      total_fee: String(refund.totalFee),
      fee_type: this.currency,
      refund_fee: String(refund.refundFee),
      cash_fee: String(cashFen(refund.totalFee)),
      cash_fee_type: 'CNY',
      refund_desc: refund.refundDesc,
      refund_status: refund.state,
      refund_time:
        at === undefined ? '' : time === 'epoch' ? String(Math.floor(at / 1000)) : toUtc8(at, 'dashed'),
    };
  }
}
