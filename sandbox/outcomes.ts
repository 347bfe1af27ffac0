/**
 * The sandbox outcome table (SPEC section 6): what every sandbox channel does by the last two digits of
 * `auth_code`, each in its own protocol's words, and how the order ends. The OpenAPI document and the tests
 * read it from here; the sandboxes take their behaviour from the functions at the end (pay, what a query
 * finds, how a reverse is answered) and only choose the words.
 */
export interface SandboxOutcome {
  /** The last two digits of `auth_code`. */
  readonly suffix: string;
  /** What the channel does. */
  readonly does: string;
  /** The API code the submit answers with, and the `trade_state` it reports. */
  readonly submitCode: 0 | 600 | 601;
  readonly submitTradeState: number;
  /** The order's final `trade_state`. */
  readonly finalTradeState: number;
}

export const sandboxOutcomes: readonly SandboxOutcome[] = [
  { suffix: '00', does: 'pays at once', submitCode: 0, submitTradeState: 0, finalTradeState: 0 },
  {
    suffix: '01',
    does: 'user is entering a password (USERPAYING); paid at the 2nd query',
    submitCode: 0,
    submitTradeState: 6,
    finalTradeState: 0,
  },
  {
    suffix: '02',
    does: 'USERPAYING, never paid; reversed after the last query',
    submitCode: 0,
    submitTradeState: 6,
    finalTradeState: 4,
  },
  {
    suffix: '03',
    does: 'refuses: insufficient balance (NOTENOUGH)',
    submitCode: 600,
    submitTradeState: 7,
    finalTradeState: 7,
  },
  {
    suffix: '04',
    does: 'refuses: code expired (AUTHCODEEXPIRE)',
    submitCode: 600,
    submitTradeState: 7,
    finalTradeState: 7,
  },
  {
    suffix: '05',
    does: 'answers SYSTEMERROR to pay, but the payment went through',
    submitCode: 0,
    submitTradeState: 6,
    finalTradeState: 0,
  },
  {
    suffix: '06',
    does: 'pay does not answer in time; the payment went through',
    submitCode: 601,
    submitTradeState: 6,
    finalTradeState: 0,
  },
  {
    suffix: '07',
    does: 'pay does not answer in time; no payment happened',
    submitCode: 601,
    submitTradeState: 6,
    finalTradeState: 4,
  },
  {
    suffix: '08',
    does: 'USERPAYING, then the user cancels (query: PAYERROR)',
    submitCode: 0,
    submitTradeState: 6,
    finalTradeState: 7,
  },
  {
    suffix: '09',
    does: 'as 02, and the first reverse asks to be called again (recall=Y); the second succeeds',
    submitCode: 0,
    submitTradeState: 6,
    finalTradeState: 4,
  },
  {
    suffix: '10',
    does: 'as 02, and reverse fails every time: REVERSE_FAILED, alarm',
    submitCode: 0,
    submitTradeState: 6,
    finalTradeState: 5,
  },
];

/**
 * What a sandbox's pay does for an `auth_code`, by the table above; each sandbox says it in its channel's words.
 * `paid`: answers paid. `paying`: the user is still paying (USERPAYING, `10003`, `201`…). `refused`: a final
 * refusal, for lack of balance or an expired code. `error`: answers a system error although the payment went
 * through. `silent`: never answers, having taken the payment or not.
 */
export type PayBehaviour =
  | { readonly kind: 'paid' }
  | { readonly kind: 'paying' }
  | { readonly kind: 'refused'; readonly reason: 'balance' | 'expired' }
  | { readonly kind: 'error' }
  | { readonly kind: 'silent'; readonly paid: boolean };

const payBehaviours: Readonly<Record<string, PayBehaviour>> = {
  '01': { kind: 'paying' },
  '02': { kind: 'paying' },
  '03': { kind: 'refused', reason: 'balance' },
  '04': { kind: 'refused', reason: 'expired' },
  '05': { kind: 'error' },
  '06': { kind: 'silent', paid: true },
  '07': { kind: 'silent', paid: false },
  '08': { kind: 'paying' },
  '09': { kind: 'paying' },
  '10': { kind: 'paying' },
};

/** The outcome an `auth_code` picks: its last two digits. */
export function outcomeOf(authCode: string | undefined): string {
  return (authCode ?? '').slice(-2);
}

/** What pay does for this outcome; any suffix not in the table pays at once. */
export function payBehaviour(outcome: string): PayBehaviour {
  return payBehaviours[outcome] ?? { kind: 'paid' };
}

/**
 * What a payment still being paid has become when it is queried for the `queries`-th time: paid at the second
 * query (01), failed because the user cancelled (08), or still being paid.
 */
export function afterQuery(outcome: string, queries: number): 'paid' | 'failed' | 'paying' {
  if (outcome === '01' && queries >= 2) return 'paid';
  if (outcome === '08') return 'failed';
  return 'paying';
}

/**
 * How the `reverses`-th reverse of an order is answered: `again` when the channel asks to be called again (the
 * first reverse of 09), `error` when it fails (every reverse of 10), otherwise `reversed`.
 */
export function reverseAnswer(outcome: string, reverses: number): 'reversed' | 'again' | 'error' {
  if (outcome === '10') return 'error';
  if (outcome === '09' && reverses === 1) return 'again';
  return 'reversed';
}

/** One row of the sandbox refund table (SPEC section 8): what every sandbox does by the last two digits of `refund_fee`. */
export interface SandboxRefundOutcome {
  readonly suffix: string;
  readonly does: string;
  /** The refund's final `refund_state`. */
  readonly finalRefundState: number;
}

export const sandboxRefundOutcomes: readonly SandboxRefundOutcome[] = [
  { suffix: '00', does: 'refunds at once', finalRefundState: 0 },
  { suffix: '01', does: 'processing; refunded at the 2nd query', finalRefundState: 0 },
  { suffix: '03', does: 'refuses: not enough funds to refund (NOTENOUGH)', finalRefundState: 2 },
  { suffix: '04', does: 'processing, then CHANGE (abnormal; alarms)', finalRefundState: 3 },
  { suffix: '05', does: 'processing, then closed (REFUNDCLOSE)', finalRefundState: 2 },
  {
    suffix: '06',
    does: 'the refund call does not answer in time; the refund went through',
    finalRefundState: 0,
  },
  {
    suffix: '07',
    does: 'the refund call does not answer in time; nothing happened (a retry under the same number refunds)',
    finalRefundState: 0,
  },
];

/**
 * What a sandbox refund call does, by the last two digits of `refund_fee` (any other suffix refunds at once):
 * `refunded` at once, `processing` (accepted, followed by queries), `refused` for lack of funds, or `silent`
 * (no answer in time) having `taken` the refund or not. `sends` counts the calls under this refund number.
 */
export function refundBehaviour(
  refundFee: number,
  sends: number,
):
  | { readonly kind: 'refunded' | 'processing' | 'refused' }
  | { readonly kind: 'silent'; readonly taken: boolean } {
  const outcome = String(refundFee).padStart(2, '0').slice(-2);
  if (outcome === '03') return { kind: 'refused' };
  if (outcome === '01' || outcome === '04' || outcome === '05') return { kind: 'processing' };
  // A repeated call is answered: 06 with the refund it took, 07 by taking it now.
  if ((outcome === '06' || outcome === '07') && sends === 1)
    return { kind: 'silent', taken: outcome === '06' };
  return { kind: 'refunded' };
}

/** What a processing sandbox refund has become at its `queries`-th query. */
export function refundAfterQuery(
  refundFee: number,
  queries: number,
): 'refunded' | 'processing' | 'change' | 'closed' {
  const outcome = String(refundFee).padStart(2, '0').slice(-2);
  if (outcome === '01') return queries >= 2 ? 'refunded' : 'processing';
  if (outcome === '04') return 'change';
  if (outcome === '05') return 'closed';
  return 'refunded';
}
