/** What an AWS SDK client is made with here: its region, an endpoint when not the region's, credentials. */
export interface AwsClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * A client's region, endpoint (`env[endpointVariable]`, e.g. local mode's `AWS_ENDPOINT_URL_DYNAMODB`) and
 * credentials, all read from `env`: a Lambda passes `process.env`, where they are what the SDK would read itself;
 * a local stack passes its own environment, so several stacks run side by side in one process.
 */
export function awsClientConfig(env: NodeJS.ProcessEnv, endpointVariable?: string): AwsClientConfig {
  const endpoint = endpointVariable ? env[endpointVariable] : undefined;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  return {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN } }
      : {}),
  };
}
