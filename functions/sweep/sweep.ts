import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type SweepReport, sweepDueOrders } from '#core/settlement/sweep.ts';
import type { Runtime } from '../shared/runtime.ts';

export type SweepFunction = (event: unknown, context: Context) => Promise<SweepReport>;

/** The scheduled sweep (every minute) over `runtime`: restarts settlement of orders whose settlement died. */
export function sweepFunction({ logger, ports }: Runtime): SweepFunction {
  async function sweep(): Promise<SweepReport> {
    const report = await sweepDueOrders(ports);
    if (report.due > 0) logger.info('sweep', { ...report });
    return report;
  }
  return middy(sweep).use(injectLambdaContext(logger, { resetKeys: true }));
}
