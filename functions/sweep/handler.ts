import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type SweepReport, sweepDueOrders } from '#core/settlement/sweep.ts';
import { logger, ports } from '../shared/runtime.ts';

/** Scheduled (every minute): restarts settlement of orders whose settlement died. */
async function sweep(): Promise<SweepReport> {
  const report = await sweepDueOrders(ports);
  if (report.due > 0) logger.info('sweep', { ...report });
  return report;
}

export const handler = middy(sweep).use(injectLambdaContext(logger, { resetKeys: true }));
