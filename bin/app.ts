import { App } from 'aws-cdk-lib';
import { MicropayStack } from '../lib/micropay-stack.ts';

/** One gateway stack per region listed in cdk.json's `regions` context (or `-c regions=a,b`). */
const app = new App();
const context = app.node.tryGetContext('regions') as string[] | string | undefined;
const regions = typeof context === 'string' ? context.split(',').map((r) => r.trim()) : (context ?? []);
if (regions.length === 0) throw new Error('cdk.json context "regions" lists no region');
for (const region of regions) {
  new MicropayStack(app, `Micropay-${region}`, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
    description: `Micropay barcode-payment gateway (${region})`,
    wechatBaseUrl: app.node.tryGetContext('wechatBaseUrl'),
  });
}
