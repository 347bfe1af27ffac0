import {
  finalQueryResult,
  type PaymentDetails,
  type PayResult,
  type QueryResult,
  type TradeStateClass,
} from '#core/channels/channel.ts';
import { type Verification, type Verified, verifyAnswer } from '#core/channels/verified.ts';

/**
 * Why an answer is not about the request that was sent, or undefined when it is: every field of `ours` that the
 * answer states must hold our value, and the `required` ones must be stated at all (an empty value states
 * nothing). The label names the first field that fails, `MISMATCH:<name>`.
 */
export function mismatchOf(
  stated: Readonly<Record<string, string | undefined>>,
  ours: Readonly<Record<string, string | undefined>>,
  required: readonly string[],
): string | undefined {
  const given = (name: string) => (stated[name] === '' ? undefined : stated[name]);
  for (const name of required) if (given(name) === undefined) return `MISMATCH:${name}`;
  for (const [name, value] of Object.entries(ours)) {
    if (value !== undefined && given(name) !== undefined && given(name) !== value) return `MISMATCH:${name}`;
  }
  return undefined;
}

/** A decimal integer written as digits only, as a number; undefined for anything else. */
export function digitsToInt(value: string | undefined): number | undefined {
  return /^\d{1,15}$/.test(String(value)) ? Number(value) : undefined;
}

/** `fields` without its undefined members: an answer that does not state a field must not erase the order's. */
export function stated<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

/** What an answer says about the request: what it states and what we sent, by field name. */
export interface AboutRequest {
  readonly stated: Readonly<Record<string, string | undefined>>;
  readonly ours: Readonly<Record<string, string | undefined>>;
  /** Fields it must state whatever the call (the merchant's ids), before the call's own `required`. */
  readonly always?: readonly string[];
}

/** How a channel proves an answer is its own and about the request that was sent. */
export interface AnswerRule<A, E> {
  /** `signature`; `transport` (unsigned by the channel's design, over verified TLS); or why neither. */
  authenticity(answer: A, expected: E): Verified<A>['basis'] | { readonly unproven: string };
  /** What the answer says about the request; undefined for one that names none (a bare failure). */
  about(answer: A, expected: E): AboutRequest | undefined;
}

/**
 * A channel's verifier made from its rule: `verifyAnswer` with the rule's authenticity, then `mismatchOf` over what
 * the answer states about the request, `required` naming what this answer must state beside the rule's `always`.
 */
export function answerVerifier<A, E, R extends string>(
  rule: AnswerRule<A, E>,
): (answer: A, expected: E, required?: readonly R[]) => Verification<A> {
  return (answer, expected, required = []) =>
    verifyAnswer(answer, {
      authenticity: (a) => rule.authenticity(a, expected),
      mismatch: (a) => {
        const about = rule.about(a, expected);
        return about && mismatchOf(about.stated, about.ours, [...(about.always ?? []), ...required]);
      },
    });
}

/**
 * A pay answer's error code read by the channel's table: `pending` (and any code not listed) leaves the outcome
 * open and decides nothing; `refused` is final, and counts only once `verify` proves the answer.
 */
export function payErrorResult<A>(
  errCode: string,
  errMsg: string,
  table: Readonly<Record<string, 'pending' | 'refused'>>,
  verify: () => Verification<A>,
): PayResult {
  if ((table[errCode] ?? 'pending') === 'pending') return { kind: 'pending', errCode, errMsg, said: errCode };
  const checked = verify();
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  return { kind: 'refused', errCode, errMsg, said: errCode, proof: checked.verified };
}

/** A final trade state: one that decides the order. */
export type FinalStateClass = Exclude<TradeStateClass, 'pending'>;

/** Whether a final state says the money moved (paid, or paid and since refunded): its answer must state the amount. */
export function moneyMoved(stateClass: FinalStateClass): boolean {
  return stateClass === 'paid' || stateClass === 'refunded';
}

/**
 * A query answer's trade state read by the channel's table: a state not final (or not listed) is `pending` and
 * decides nothing; a final one counts only once `verify` proves the answer for that state, and is then the result
 * settlement reads (`finalQueryResult`).
 */
export function queryResultOf<A>(
  state: string,
  table: Readonly<Record<string, TradeStateClass>>,
  verify: (stateClass: FinalStateClass) => Verification<A>,
  answer: { readonly details: () => PaymentDetails; readonly description: string },
): QueryResult {
  const stateClass = table[state] ?? 'pending';
  if (stateClass === 'pending') return { kind: 'pending', said: state };
  const checked = verify(stateClass);
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  return finalQueryResult(stateClass, state, answer, checked.verified);
}
