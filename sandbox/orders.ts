import { randomInt } from 'node:crypto';
import { afterQuery, outcomeOf, payBehaviour, reverseAnswer } from './outcomes.ts';

/**
 * An order as every sandbox keeps it, beside its channel's own fields: the outcome its `auth_code` picked (SPEC
 * section 6), its state in the channel's words, how often it was queried and reversed, and when it was paid.
 */
export interface PlayedOrder<State extends string> {
  readonly outTradeNo: string;
  readonly outcome: string;
  state: State;
  queries: number;
  reverses: number;
  paidAt?: number;
}

/** A channel's words for the states the outcome table moves an order through. */
export interface StateWords<State extends string> {
  /** Still being paid. */
  readonly paying: State;
  readonly paid: State;
  /** The user gave up: what a query finds after (08). */
  readonly failed: State;
  /** Reversed, or closed by a reverse before any pay. */
  readonly reversed: State;
}

/**
 * What a sandbox's pay came to, for it to answer in its channel's words: `paid`, `paying` (the user is still
 * paying) and `error` (a system error, although the payment went through) with the order kept; `refused`; and
 * `silent`, no answer at all.
 */
export type PlayedPay<O> =
  | { readonly kind: 'paid'; readonly order: O }
  | { readonly kind: 'paying'; readonly order: O }
  | { readonly kind: 'error'; readonly order: O }
  | { readonly kind: 'refused'; readonly reason: 'balance' | 'expired' }
  | { readonly kind: 'silent' };

/**
 * The outcome table (`sandbox/outcomes.ts`) played on a sandbox's orders, in its channel's words: the order a pay
 * leaves behind, what a query finds, how a reverse is answered. A sandbox adds only its fields and its answers.
 */
export class OrderPlay<State extends string> {
  private readonly words: StateWords<State>;

  constructor(words: StateWords<State>) {
    this.words = words;
  }

  /**
   * Pays for `authCode` by the outcome its last two digits pick. `open` adds the channel's own fields to the order
   * the payment leaves (paid, or still being paid) and keeps it.
   */
  pay<O extends PlayedOrder<State>>(
    outTradeNo: string,
    authCode: string | undefined,
    open: (order: PlayedOrder<State>) => O,
  ): PlayedPay<O> {
    const outcome = outcomeOf(authCode);
    const opened = (state: State) =>
      open({
        outTradeNo,
        outcome,
        state,
        queries: 0,
        reverses: 0,
        paidAt: state === this.words.paid ? Date.now() : undefined,
      });
    const pay = payBehaviour(outcome);
    switch (pay.kind) {
      case 'paying':
        return { kind: 'paying', order: opened(this.words.paying) };
      case 'refused':
        return pay;
      case 'error':
        return { kind: 'error', order: opened(this.words.paid) };
      case 'silent':
        if (pay.paid) opened(this.words.paid);
        return { kind: 'silent' };
      case 'paid':
        return { kind: 'paid', order: opened(this.words.paid) };
    }
  }

  /** An order number reversed before any pay reached the channel: closed, so a late pay cannot go through. */
  closed(outTradeNo: string): PlayedOrder<State> {
    return { outTradeNo, outcome: '', state: this.words.reversed, queries: 0, reverses: 1 };
  }

  /** Counts a query: a payment still being paid is paid, or given up, by now as the outcome table says. */
  query(order: PlayedOrder<State>): void {
    order.queries += 1;
    if (order.state !== this.words.paying) return;
    const now = afterQuery(order.outcome, order.queries);
    if (now === 'paid') {
      order.state = this.words.paid;
      order.paidAt = Date.now();
    } else if (now === 'failed') {
      order.state = this.words.failed;
    }
  }

  /**
   * Counts a reverse and says how it is answered: `reversed` (the order now is), `again` (the channel asks to be
   * called again) or `error`.
   */
  reverse(order: PlayedOrder<State>): 'reversed' | 'again' | 'error' {
    order.reverses += 1;
    const answer = reverseAnswer(order.outcome, order.reverses);
    if (answer === 'reversed') order.state = this.words.reversed;
    return answer;
  }
}

/** `length` random decimal digits, for the order numbers a sandbox makes up. */
export function randomDigits(length: number): string {
  return Array.from({ length }, () => randomInt(10)).join('');
}
