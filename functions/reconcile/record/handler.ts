import { recordFunction } from '../reconcile.ts';
import { recordRuntime } from '../runtime.ts';

/** The `reconcile-record` Lambda: configuration and clients made once per container, at cold start. */
export const handler = recordFunction(recordRuntime());
