import { accountsFunction } from '../reconcile.ts';
import { accountsRuntime } from '../runtime.ts';

/** The `reconcile-accounts` Lambda: configuration and clients made once per container, at cold start. */
export const handler = accountsFunction(accountsRuntime());
