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
