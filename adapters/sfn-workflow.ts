import type { SFNClient } from '@aws-sdk/client-sfn';
import type { AwsClientConfig } from '#adapters/aws-config.ts';
import type { SettlementInput, Workflow } from '#core/ports.ts';

/**
 * Starts settlement executions of the Step Functions state machine. The Step Functions client is loaded on
 * the first start: a payment that settles at once never needs it, so a cold start does not wait for it.
 */
export class StepFunctionsWorkflow implements Workflow {
  private readonly stateMachineArn: string;
  private readonly clientConfig: AwsClientConfig;
  private client: Promise<{ client: SFNClient; sdk: typeof import('@aws-sdk/client-sfn') }> | undefined;

  constructor(stateMachineArn: string, clientConfig: AwsClientConfig = {}) {
    this.stateMachineArn = stateMachineArn;
    this.clientConfig = clientConfig;
  }

  async startSettlement(input: SettlementInput, executionName: string): Promise<void> {
    this.client ??= import('@aws-sdk/client-sfn').then((sdk) => ({
      client: new sdk.SFNClient({ ...this.clientConfig }),
      sdk,
    }));
    const { client, sdk } = await this.client;
    try {
      await client.send(
        new sdk.StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: executionName,
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      // Same name already started (Standard workflows): that execution is the settlement; nothing to do.
      if (error instanceof sdk.ExecutionAlreadyExists) return;
      throw error;
    }
  }
}
