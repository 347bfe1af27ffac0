import { type App, Aspects, Stack } from 'aws-cdk-lib';
import type { StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MicropayGateway } from './micropay-gateway.ts';

/**
 * Fills a CDK app with one gateway stack per region listed in its `regions` context (cdk.json, or
 * `-c regions=a,b`). Optional context: `channelUrls` ({"blueocean": "https://api.au.blueoceanpay.com", …}),
 * `channelSettings` ({"ALIPAY_PROTOCOL": "guidance"}), `workflowType` (EXPRESS or STANDARD), `alarmEmail`. Every synth is
 * checked against the AWS Solutions rules; accepted findings are suppressed where they arise, with a reason.
 */
export function addGatewayStacks(app: App): Stack[] {
  const context = app.node.tryGetContext('regions') as string[] | string | undefined;
  const regions = typeof context === 'string' ? context.split(',').map((r) => r.trim()) : (context ?? []);
  if (regions.length === 0) throw new Error('cdk.json context "regions" lists no region');
  const channelUrls = app.node.tryGetContext('channelUrls') as Record<string, string> | undefined;
  const channelSettings = app.node.tryGetContext('channelSettings') as Record<string, string> | undefined;
  const stacks = regions.map((region) => {
    const stack = new Stack(app, `Micropay-${region}`, {
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
      description: `Micropay barcode-payment gateway (${region})`,
    });
    new MicropayGateway(stack, 'Gateway', {
      channelUrls,
      channelSettings,
      workflowType: app.node.tryGetContext('workflowType') as StateMachineType | undefined,
      alarmEmail: app.node.tryGetContext('alarmEmail') as string | undefined,
    });
    return stack;
  });
  Aspects.of(app).add(new AwsSolutionsChecks());
  return stacks;
}
