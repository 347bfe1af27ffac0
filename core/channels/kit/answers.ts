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
