import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { runSettlementStep, type StepInput, type StepPlan } from '#core/settlement/step.ts';
import type { Runtime } from '../shared/runtime.ts';

export type SettleFunction = (input: StepInput, context: Context) => Promise<StepPlan>;

/**
 * The settlement state machine's task over `runtime`: one protocol step (begin, query, reverse, give_up, refund) for
 * one order.
 */
export function settleFunction({ logger, ports }: Runtime): SettleFunction {
  async function settle(input: StepInput): Promise<StepPlan> {
    logger.appendKeys({ merchant_id: input.merchant_id, trade_id: input.trade_id });
    const plan = await runSettlementStep(ports, input);
    logger.info('settlement step', { action: input.action, next: plan.next, state: plan.state });
    return plan;
  }
  return middy(settle).use(injectLambdaContext(logger, { resetKeys: true }));
}
