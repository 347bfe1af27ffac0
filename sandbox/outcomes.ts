/**
 * The sandbox outcome table (SPEC section 6): what every sandbox channel does by the last two digits of
 * `auth_code`, each in its own protocol's words, and how the order ends. The sandboxes implement it; the
 * OpenAPI document and the tests read it from here.
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
