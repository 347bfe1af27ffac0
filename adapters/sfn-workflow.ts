import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SettlementInput, Workflow } from '#core/ports.ts';

/** Starts settlement executions of the Step Functions state machine. */
export class StepFunctionsWorkflow implements Workflow {
  private readonly client: SFNClient;
  private readonly stateMachineArn: string;

  constructor(client: SFNClient, stateMachineArn: string) {
    this.client = client;
    this.stateMachineArn = stateMachineArn;
  }

  async startSettlement(input: SettlementInput, executionName: string): Promise<void> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: executionName,
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      // Same name already started: that execution is the settlement; nothing to do.
      if (error instanceof ExecutionAlreadyExists) return;
      throw error;
    }
  }
}
