import type { TestProject } from 'vitest/node';
import { shortRunJvmOptions, startDynamoDbLocal } from '../../local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The DynamoDB Local every integration test file shares (each local stack has tables of its own there). */
    dynamoDbEndpoint: string;
  }
}

/**
 * One DynamoDB Local for the whole run: its JVM takes seconds to start, and every integration file used to start
 * its own. Files keep apart by table names.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamo = await startDynamoDbLocal(undefined, { jvmOptions: shortRunJvmOptions });
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
