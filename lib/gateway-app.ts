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
  const channelUrls = objectContext(app, 'channelUrls');
  const channelSettings = objectContext(app, 'channelSettings');
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

/**
 * A context value that is an object of strings: as cdk.json holds it, or as JSON text, which is how the CDK CLI
 * passes every `-c key=value` (`-c channelUrls='{"blueocean":"https://…"}'`).
 */
function objectContext(app: App, key: string): Record<string, string> | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(
        `context ${key} must be a JSON object, e.g. -c ${key}='{"name":"value"}'; got ${value}`,
      );
    }
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  const entries: [string, unknown][] = isObject ? Object.entries(parsed as object) : [];
  if (!isObject || entries.some(([, v]) => typeof v !== 'string')) {
    throw new Error(`context ${key} must be a JSON object of strings; got ${JSON.stringify(value)}`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
