import { BlueoceanSandbox } from '#sandbox/blueocean.ts';
import type { SandboxCalls, SandboxStarter } from './sandbox-channels.ts';
import { sandboxBlueocean } from './sandbox-merchants.ts';

/** Starts the BlueOcean sandbox with the sandbox merchants' account (M100000004's, HKD). */
export const blueoceanStarter: SandboxStarter = async ({ deadlineScale, pki }) => {
  const sandbox = new BlueoceanSandbox({
    accounts: [{ appid: sandboxBlueocean.account.appid, key: sandboxBlueocean.credentials.api_key }],
    currency: sandboxBlueocean.account.currency,
    timeScale: deadlineScale,
    pki,
  });
  return {
    channel: 'blueocean',
    label: 'BlueOcean Pay sandbox',
    url: await sandbox.listen(),
    paths:
      '/wechat/payment/micropay, /wechat/order/query, /wechat/order/reverse (and /payment/pay, /order/…)',
    credentials: {},
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo) as unknown as SandboxCalls,
    callTimes: (outTradeNo) => sandbox.callTimes(outTradeNo),
    close: () => sandbox.close(),
  };
};
