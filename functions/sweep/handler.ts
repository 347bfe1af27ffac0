import { createRuntime } from '../shared/runtime.ts';
import { sweepFunction } from './sweep.ts';

/** The `sweep` Lambda: configuration and clients made once per container, at cold start. */
export const handler = sweepFunction(createRuntime());
