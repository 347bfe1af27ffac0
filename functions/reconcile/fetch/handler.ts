import { fetchFunction } from '../reconcile.ts';
import { fetchRuntime } from '../runtime.ts';

/** The `reconcile-fetch` Lambda: configuration and clients made once per container, at cold start. */
export const handler = fetchFunction(fetchRuntime());
