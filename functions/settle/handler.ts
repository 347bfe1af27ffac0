import { createRuntime } from '../shared/runtime.ts';
import { settleFunction } from './settle.ts';

/** The `settle` Lambda: configuration and clients made once per container, at cold start. */
export const handler = settleFunction(createRuntime());
