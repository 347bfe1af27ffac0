import { yuanToFen } from '#core/money.ts';

/** A statement that cannot be read as its channel's: what is wrong with it. It is fetched again, never half-read. */
export class StatementError extends Error {
  override readonly name = 'StatementError';
}

/**
 * Yuan as a statement writes it → fen, exactly (string arithmetic, never a float): "0.01", "0.0", "0", "6.00", and
 * decimals past the fen when they are zeros ("0.04000", as WeChat writes 手续费). `signed` allows a minus sign
 * (refund rows, fees given back). Undefined when it is not a whole number of fen.
 */
export function statementFen(text: string, signed = false): number | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m || (m[1] && !signed)) return undefined;
  const decimals = m[3] ?? '';
  if (/[^0]/.test(decimals.slice(2))) return undefined;
  const fen = yuanToFen(decimals ? `${m[2]}.${decimals.slice(0, 2)}` : m[2]);
  if (fen === undefined) return undefined;
  return m[1] && fen !== 0 ? -fen : fen;
}
