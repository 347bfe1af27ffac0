import { publishFunction } from '../reconcile.ts';
import { publishRuntime } from '../runtime.ts';

/** The `reconcile-publish` Lambda: configuration made once per container, at cold start. */
export const handler = publishFunction(publishRuntime());
