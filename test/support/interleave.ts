import { AsyncLocalStorage } from 'node:async_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Runs concurrent tasks one step at a time: every call a task makes through a port wrapped with `wrap` stops at a
 * point, and the schedule decides which stopped task goes on. So a test can walk every interleaving of the
 * awaits that matter (or a seeded sample of them) instead of hoping the event loop happens to produce one.
 */
export class Interleaver {
  private readonly task = new AsyncLocalStorage<number>();
  private readonly stopped: { task: number; label: string; go: () => void }[] = [];
  /** The labels of the points passed, in order, as `task:label`. */
  readonly trace: string[] = [];

  /** A proxy of `target` whose `methods` stop at a point before they run, when called inside a task. */
  wrap<T extends object>(target: T, methods: readonly string[], label: string): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function' || !methods.includes(String(property))) return value;
        return async (...args: unknown[]) => {
          const task = this.task.getStore();
          if (task !== undefined) {
            await new Promise<void>((go) =>
              this.stopped.push({ task, label: `${label}.${String(property)}`, go }),
            );
          }
          return value.apply(object, args);
        };
      },
    });
  }

  /**
   * Runs `tasks` to completion, letting one stopped task go at a time: `choose(n)` picks which of the `n` stopped
   * ones (oldest first). Returns each task's outcome.
   */
  async run(
    tasks: readonly (() => Promise<unknown>)[],
    choose: (options: number) => number,
  ): Promise<PromiseSettledResult<unknown>[]> {
    let running = tasks.length;
    const results = tasks.map((body, index) =>
      this.task.run(index, async () => {
        try {
          return await body();
        } finally {
          running -= 1;
        }
      }),
    );
    for (;;) {
      // In-memory fakes resolve within a turn of the event loop: after two, every task is stopped or done.
      await nextTurn();
      await nextTurn();
      if (this.stopped.length === 0) {
        if (running === 0) break;
        throw new Error('a task is waiting on something the schedule does not control');
      }
      const [next] = this.stopped.splice(choose(this.stopped.length), 1);
      if (!next) throw new Error('the schedule chose no task');
      this.trace.push(`${next.task}:${next.label}`);
      next.go();
    }
    return Promise.allSettled(results);
  }
}

/**
 * Every schedule of a run, depth first: `body` is called once per schedule with a `choose` to pass to
 * `Interleaver.run`, until every choice at every point has been taken or `limit` schedules have run.
 * Returns how many schedules ran, and whether that was all of them.
 */
export async function everySchedule(
  body: (choose: (options: number) => number) => Promise<void>,
  limit = 5_000,
): Promise<{ schedules: number; exhausted: boolean }> {
  const prefix: number[] = [];
  let schedules = 0;
  for (;;) {
    const options: number[] = [];
    await body((n) => {
      const step = options.length;
      options.push(n);
      return step < prefix.length ? (prefix[step] as number) : 0;
    });
    schedules += 1;
    // Backtrack: the last point with a choice not yet taken takes its next one.
    const taken = [...prefix, ...new Array<number>(Math.max(0, options.length - prefix.length)).fill(0)];
    let point = options.length - 1;
    while (point >= 0 && (taken[point] as number) + 1 >= (options[point] as number)) point -= 1;
    if (point < 0) return { schedules, exhausted: true };
    if (schedules >= limit) return { schedules, exhausted: false };
    prefix.length = 0;
    prefix.push(...taken.slice(0, point), (taken[point] as number) + 1);
  }
}

/** A seeded schedule: the same seed makes the same choices (mulberry32). */
export function seededSchedule(seed: number): (options: number) => number {
  let state = seed >>> 0;
  return (options) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % 2 ** 32) % options;
  };
}
