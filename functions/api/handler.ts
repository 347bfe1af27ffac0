import { createRuntime } from '../shared/runtime.ts';
import { apiFunction } from './api.ts';

/** The `api` Lambda: configuration and clients made once per container, at cold start. */
export const handler = apiFunction(createRuntime());
