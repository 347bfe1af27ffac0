/**
 * Money as channels write it, converted exactly: amounts are integers of fen in the order record, and
 * channels that speak yuan get decimal strings made from them (and back) by string arithmetic, never through
 * floating point. Fee fields with more decimals than fen have stay exact decimal strings.
 */

/** Largest amount in fen the gateway handles (the API's `total_fee` limit): 10¹⁰ fen. */
export const maxFen = 10_000_000_000;

/** Fen → yuan with exactly two decimals: 1 → "0.01", 12345 → "123.45". */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new RangeError(`not a whole number of fen: ${fen}`);
  const digits = String(fen).padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/**
 * Yuan as a decimal string → fen; undefined when the text is not a non-negative decimal with at most two
 * decimals ("0.01", "8.8", "100"), or is beyond `maxFen`.
 */
export function yuanToFen(yuan: string | undefined): number | undefined {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(String(yuan));
  if (!m) return undefined;
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return fen <= maxFen ? fen : undefined;
}

/** A non-negative decimal written exactly (a fee or a rate, up to `maxDecimals`); undefined otherwise. */
export function exactDecimal(text: string | undefined, maxDecimals = 8): string | undefined {
  const pattern = new RegExp(`^\\d{1,12}(?:\\.\\d{1,${maxDecimals}})?$`);
  return text !== undefined && pattern.test(text) ? text : undefined;
}

/**
 * Parses JSON keeping every number as the exact text it was written in ("0.00140" stays "0.00140"), so
 * decimals a channel sends as JSON numbers are never rounded through a double.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && context?.source !== undefined ? context.source : value,
  );
}
