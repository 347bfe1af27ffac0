declare const proven: unique symbol;

/**
 * A channel answer proven to be the channel's own and about this very request: its signature verified
 * (or, where the channel signs nothing, it came over verified TLS from the configured host and the channel's
 * documents say it is unsigned) and its identifiers and amount match what was sent. Only `verifyAnswer`
 * makes one, so a result that moves money (paid, refused, closed, reversed) cannot be built from bytes
 * nobody checked.
 */
export interface Verified<T> {
  readonly [proven]: true;
  readonly answer: T;
  /** What the proof rests on. */
  readonly basis: 'signature' | 'transport';
}

export interface AnswerChecks<T> {
  /** `signature`: the answer's signature verifies; `transport`: unsigned by the channel's design; or why not. */
  authenticity(answer: T): Verified<T>['basis'] | { readonly unproven: string };
  /** Why the answer is not about the request that was sent (another order, amount, merchant); undefined when it is. */
  mismatch(answer: T): string | undefined;
}

export type Verification<T> =
  | { readonly ok: true; readonly verified: Verified<T> }
  | { readonly ok: false; readonly reason: string };

/** The one maker of `Verified` answers: authenticity first, then that the answer is about this request. */
export function verifyAnswer<T>(answer: T, checks: AnswerChecks<T>): Verification<T> {
  const basis = checks.authenticity(answer);
  if (typeof basis !== 'string') return { ok: false, reason: basis.unproven };
  const mismatch = checks.mismatch(answer);
  if (mismatch !== undefined) return { ok: false, reason: mismatch };
  return { ok: true, verified: { answer, basis } as Verified<T> };
}
