import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { runSettlementStep, type StepInput, type StepPlan } from '#core/settlement/step.ts';
import { logger, ports } from '../shared/runtime.ts';

/** Task of the settlement state machine: one protocol step (begin, query, reverse, give_up) for one order. */
async function settle(input: StepInput): Promise<StepPlan> {
  logger.appendKeys({ merchant_id: input.merchant_id, trade_id: input.trade_id });
  const plan = await runSettlementStep(ports, input);
  logger.info('settlement step', { action: input.action, next: plan.next, state: plan.state });
  return plan;
}

export const handler = middy(settle).use(injectLambdaContext(logger, { resetKeys: true }));
