/**
 * AWS list prices the bench's cost table multiplies counted operations by. us-east-1, on-demand, as of the
 * date below; change them here (and the date) when AWS does. Sources:
 * - API Gateway HTTP APIs: https://aws.amazon.com/api-gateway/pricing/ ($1.00 per million requests, first 300 M)
 * - Lambda arm64: https://aws.amazon.com/lambda/pricing/ ($0.20 per million requests, $0.0000133334 per GB-s)
 * - DynamoDB on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million write
 *   request units, $0.125 per million read request units, since the November 2024 price cut)
 * - Step Functions: https://aws.amazon.com/step-functions/pricing/ (Standard $0.025 per 1,000 state
 *   transitions; Express $1.00 per million requests and $0.00001667 per GB-s, memory billed in 64 MB and
 *   duration in 100 ms steps)
 * - Secrets Manager: https://aws.amazon.com/secrets-manager/pricing/ ($0.05 per 10,000 API calls; $0.40 per
 *   secret per month, a per-merchant cost outside the per-payment table)
 */
export const prices = {
  asOf: '2026-12-01',
  region: 'us-east-1',
  httpApiPerRequest: 1.0 / 1e6,
  lambdaPerRequest: 0.2 / 1e6,
  lambdaPerGbSecond: 0.0000133334,
  dynamoPerWriteUnit: 0.625 / 1e6,
  dynamoPerReadUnit: 0.125 / 1e6,
  standardPerTransition: 0.025 / 1000,
  expressPerRequest: 1.0 / 1e6,
  expressPerGbSecond: 0.00001667,
  expressMemoryStepMb: 64,
  expressDurationStepMs: 100,
  secretsPerCall: 0.05 / 10_000,
} as const;

/** The gateway's Lambda memory (lib/functions.ts), for GB-seconds. */
export const lambdaMemoryMb = 512;
