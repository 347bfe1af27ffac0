import { App } from 'aws-cdk-lib';

/**
 * An app for tests that read templates: no bundling, and none of CDK's built-in CloudFormation validation
 * (a WebAssembly engine that costs a second per synth). test/infra/cdk-app.test.ts runs the real `cdk synth`,
 * which bundles and validates, and asserts its validation report is empty.
 */
export function templateApp(context: Record<string, unknown> = {}): App {
  return new App({
    builtinCloudFormationValidation: false,
    context: { 'aws:cdk:bundling-stacks': [], ...context },
  });
}
