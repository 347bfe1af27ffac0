import { App } from 'aws-cdk-lib';
import { addGatewayStacks } from '../lib/gateway-app.ts';

/** The CDK app `cdk synth` / `cdk deploy` run: one gateway stack per region in cdk.json's `regions` context. */
addGatewayStacks(new App());
