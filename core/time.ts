/** Scales a protocol duration (real-world ms) by the configured time scale. */
export function scaled(ms: number, timeScale: number): number {
  return Math.max(0, Math.round(ms * timeScale));
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
