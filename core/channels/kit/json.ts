import { parseJsonExact } from '#core/money.ts';

/**
 * `text` as the one JSON object it must be, of at most `maxBytes` (UTF-8), every number kept as the text it was
 * written in (a signature covers that text, and amounts stay exact); undefined for anything else: too large, not
 * JSON, or not an object.
 */
export function exactJsonObject(text: string, maxBytes: number): Record<string, unknown> | undefined {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) return undefined;
  let parsed: unknown;
  try {
    parsed = parseJsonExact(text);
  } catch {
    return undefined;
  }
  return isJsonObject(parsed) ? parsed : undefined;
}

/** Whether a parsed JSON value is an object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Where a member's value sits in the text it was read from: `text.slice(start, end)` is it, byte for byte. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * The members of the JSON object that is `text`, each with the span of its value as written: channels that sign
 * an answer's text (Alipay's node, fshows' `return_value`) are checked over exactly these characters, never over a
 * re-serialization. Undefined when `text` is not one well-formed JSON object, or when any object in it, at any
 * depth, names a member twice: parsers disagree about which copy counts, so such a document could mean one thing
 * to a signature and another to us. One pass, no recursion, so no depth of nesting can exhaust the stack.
 */
export function memberSpans(text: string): Map<string, Span> | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  // Well-formed JSON from here on: the pass only tracks containers, names and where values end.
  const spans = new Map<string, Span>();
  const containers: (Set<string> | null)[] = [];
  let expectName = false;
  let member: string | undefined;
  let start = -1;
  let end = 0;
  for (let i = 0; i < text.length; ) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ':') {
      i += 1;
      continue;
    }
    if (containers.length === 0 && c !== '{') return undefined;
    if (containers.length === 1 && member !== undefined && start < 0) start = i;
    if (c === '"') {
      const after = stringEnd(text, i);
      const names = containers.at(-1);
      if (expectName && names) {
        const name = JSON.parse(text.slice(i, after)) as string;
        if (names.has(name)) return undefined;
        names.add(name);
        expectName = false;
        if (containers.length === 1) [member, start] = [name, -1];
      }
      i = after;
    } else if (c === '{' || c === '[') {
      containers.push(c === '{' ? new Set() : null);
      expectName = c === '{';
      i += 1;
    } else if (c === '}' || c === ']' || c === ',') {
      if (containers.length === 1 && member !== undefined) spans.set(member, { start, end });
      if (containers.length === 1) member = undefined;
      if (c === ',') expectName = containers.at(-1) !== null;
      else containers.pop();
      i += 1;
    } else {
      i += 1; // a number, true, false or null: one character at a time
    }
    end = i;
  }
  return spans;
}

/** The index just past the JSON string that starts (with its quote) at `from`. */
function stringEnd(text: string, from: number): number {
  let i = from + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}
