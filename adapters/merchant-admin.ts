import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { merchantSecretName } from '#adapters/merchant-directory.ts';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import type { MerchantProfile, MerchantSecret } from '#core/merchants.ts';

export interface MerchantAdminTarget {
  readonly dynamo: DynamoDBClient;
  readonly secrets: SecretsManagerClient;
  readonly table: string;
  readonly secretPrefix: string;
}

/** Problems with a merchant's setup (unknown channel, missing account fields or keys); empty when fine. */
export function checkMerchant(
  channels: readonly ChannelDescriptor[],
  profile: MerchantProfile,
  secret: MerchantSecret,
): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(profile.merchant_id))
    problems.push('merchant_id must be 1-32 letters, digits, _ or -');
  if (secret.api_key.length < 16) problems.push('api_key must be at least 16 characters');
  for (const [payType, route] of Object.entries(profile.pay_types)) {
    const channel = route && channels.find((c) => c.name === route.channel);
    if (!route || !channel) {
      problems.push(`${payType}: channel ${route?.channel ?? '(none)'} is not available`);
      continue;
    }
    problems.push(
      ...channel
        .validateSetup(route.account, secret.channels[route.channel] ?? {})
        .map((p) => `${payType}: ${p}`),
    );
  }
  return problems;
}

/** Writes a merchant: the secret first (so a visible profile always has keys), then the profile. */
export async function putMerchant(
  target: MerchantAdminTarget,
  profile: MerchantProfile,
  secret: MerchantSecret,
): Promise<void> {
  const name = merchantSecretName(target.secretPrefix, profile.merchant_id);
  const secretString = JSON.stringify(secret);
  try {
    await target.secrets.send(new CreateSecretCommand({ Name: name, SecretString: secretString }));
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    await target.secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString }));
  }
  await DynamoDBDocumentClient.from(target.dynamo).send(
    new PutCommand({ TableName: target.table, Item: profile }),
  );
}

/** Every merchant id in the merchants table (reconciliation fetches a statement per account they route to). */
export async function listMerchantIds(dynamo: DynamoDBClient, table: string): Promise<string[]> {
  const doc = DynamoDBDocumentClient.from(dynamo);
  const ids: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: table, ProjectionExpression: 'merchant_id', ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) ids.push(String(item.merchant_id));
    start = page.LastEvaluatedKey;
  } while (start);
  return ids.sort();
}
