/**
 * China Standard Time (and Hong Kong's): UTC+8 all year. Every channel here writes times in it: WeChat, fshows and
 * BlueOcean's pay answer as `yyyyMMddHHmmss` (`compact`), Alipay and BlueOcean's query as `yyyy-MM-dd HH:mm:ss`
 * (`dashed`).
 */
const utc8Ms = 8 * 3600 * 1000;

export type TimeForm = 'compact' | 'dashed';

/** Epoch milliseconds → the time in UTC+8, written in `form`. */
export function toUtc8(epochMs: number, form: TimeForm): string {
  const iso = new Date(epochMs + utc8Ms).toISOString();
  return form === 'dashed' ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : iso.replace(/\D/g, '').slice(0, 14);
}

/**
 * A UTC+8 time written in `form` → epoch seconds; undefined when it is not one, or names a date that does not
 * exist (2026-02-30 is no date, not March 2nd).
 */
export function fromUtc8(text: string | undefined, form: TimeForm): number | undefined {
  const pattern = form === 'dashed' ? /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/ : /^\d{14}$/;
  if (text === undefined || !pattern.test(text)) return undefined;
  const digits = text.replace(/\D/g, '');
  const fields = [0, 4, 6, 8, 10, 12].map((at, k) => Number(digits.slice(at, [4, 6, 8, 10, 12, 14][k])));
  const [y, mo, d, h, mi, s] = fields as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - utc8Ms;
  return toUtc8(ms, form) === text ? ms / 1000 : undefined;
}
