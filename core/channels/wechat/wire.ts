import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** WeChat Pay v2 speaks flat `<xml>` documents of string fields, values in CDATA. */
const parser = new XMLParser({
  parseTagValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
});
const builder = new XMLBuilder({ cdataPropName: '__cdata' });

export type WireFields = Record<string, string>;

export function toXml(fields: Readonly<Record<string, string | number | undefined>>): string {
  const body: Record<string, { __cdata: string }> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== '') body[name] = { __cdata: String(value) };
  }
  return builder.build({ xml: body }) as string;
}

/** Parses a WeChat `<xml>` document; undefined when it is not one. */
export function fromXml(text: string): WireFields | undefined {
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch {
    return undefined;
  }
  const xml = (parsed as { xml?: unknown } | undefined)?.xml;
  if (xml === null || typeof xml !== 'object' || Array.isArray(xml)) return undefined;
  const fields: WireFields = {};
  for (const [name, value] of Object.entries(xml)) {
    if (typeof value === 'string' || typeof value === 'number') fields[name] = String(value);
  }
  return fields;
}

const beijingOffsetMs = 8 * 3600 * 1000;

/** Epoch seconds → WeChat's `yyyyMMddHHmmss` in Beijing time. */
export function toWechatTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000 + beijingOffsetMs).toISOString().replace(/\D/g, '').slice(0, 14);
}

/** WeChat's `yyyyMMddHHmmss` (Beijing time) → epoch seconds; undefined when malformed. */
export function fromWechatTime(text: string | undefined): number | undefined {
  const m = text?.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return (Date.UTC(y, mo - 1, d, h, mi, s) - beijingOffsetMs) / 1000;
}
