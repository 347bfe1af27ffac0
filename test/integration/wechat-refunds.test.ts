import { describeRefundTable, type RefundRow } from '../support/refund-table.ts';

/**
 * SPEC section 8's sandbox refund table through the local stack on M100000001's wechat.micro, each row in WeChat's
 * words. WeChat's refund call answers only that it took the refund (申请退款接口的返回仅代表业务的受理情况), so even
 * a refund made at once is processing (1) in the first answer and refunded at the first refundquery.
 */
const table: readonly RefundRow[] = [
  { suffix: '00', code: 0, first: 1, final: 0, calls: ['refund:SUCCESS', 'refund_query:SUCCESS'] },
  {
    suffix: '01',
    code: 0,
    first: 1,
    final: 0,
    calls: ['refund:SUCCESS', 'refund_query:PROCESSING', 'refund_query:SUCCESS'],
  },
  { suffix: '03', code: 600, first: 2, final: 2, calls: ['refund:NOTENOUGH'] },
  { suffix: '04', code: 0, first: 1, final: 3, calls: ['refund:SUCCESS', 'refund_query:CHANGE'] },
  { suffix: '05', code: 0, first: 1, final: 2, calls: ['refund:SUCCESS', 'refund_query:REFUNDCLOSE'] },
  {
    suffix: '06',
    code: 601,
    first: 1,
    final: 0,
    calls: ['refund:TIMEOUT', 'refund:SUCCESS', 'refund_query:SUCCESS'],
  },
  {
    suffix: '07',
    code: 601,
    first: 1,
    final: 0,
    calls: ['refund:TIMEOUT', 'refund:SUCCESS', 'refund_query:SUCCESS'],
  },
  { suffix: '57', code: 0, first: 1, final: 0, calls: ['refund:SUCCESS', 'refund_query:SUCCESS'] },
];

describeRefundTable({
  title: 'WeChat refunds through the local stack: every sandbox refund outcome, followed to its end',
  payType: 'wechat.micro',
  table,
  errCodes: { refused: 'NOTENOUGH', closed: 'REFUNDCLOSE' },
});
