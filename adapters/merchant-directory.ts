import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsClientConfig } from '#adapters/aws-config.ts';
import type { Merchant, MerchantProfile, MerchantSecret } from '#core/merchants.ts';
import type { MerchantDirectory } from '#core/ports.ts';

/** The Secrets Manager name of a merchant's secret. */
export const merchantSecretName = (prefix: string, merchantId: string): string => `${prefix}${merchantId}`;

/** Reads a JSON secret by name, reusing what it read for `maxAgeSeconds`. */
export interface SecretReader {
  get(name: string, maxAgeSeconds: number): Promise<unknown>;
}

/**
 * Secrets through Powertools Parameters (its cache, its transforms), loaded on the first read: the Secrets
 * Manager client is a tenth of a second of import that a function's cold start need not wait for.
 */
export function powertoolsSecrets(clientConfig: AwsClientConfig = {}): SecretReader {
  let provider: Promise<{ get: (name: string, options: object) => Promise<unknown> }> | undefined;
  return {
    async get(name, maxAgeSeconds) {
      provider ??= (async () => {
        const [{ SecretsProvider }, { SecretsManagerClient }] = await Promise.all([
          import('@aws-lambda-powertools/parameters/secrets'),
          import('@aws-sdk/client-secrets-manager'),
        ]);
        return new SecretsProvider({
          awsSdkV3Client: new SecretsManagerClient({ ...clientConfig }),
        });
      })();
      return (await provider).get(name, { transform: 'json', maxAge: maxAgeSeconds });
    },
  };
}

export interface MerchantDirectoryOptions {
  readonly dynamo: DynamoDBDocumentClient;
  readonly secrets: SecretReader;
  readonly table: string;
  readonly secretPrefix: string;
  /** Seconds a profile or secret is reused before it is read again (rotation takes effect within this). */
  readonly cacheSeconds: number;
}

/**
 * Merchants: the profile (status, pay types, channel accounts) in DynamoDB, the keys in one Secrets
 * Manager secret per merchant. Both are cached for `cacheSeconds`, so a rotated key or a disabled merchant
 * takes effect within minutes and without a deploy.
 */
export class AwsMerchantDirectory implements MerchantDirectory {
  private readonly options: MerchantDirectoryOptions;
  private readonly profiles = new Map<string, { profile: MerchantProfile | undefined; until: number }>();

  constructor(options: MerchantDirectoryOptions) {
    this.options = options;
  }

  async get(merchantId: string): Promise<Merchant | undefined> {
    const profile = await this.profile(merchantId);
    if (!profile) return undefined;
    const secret = (await this.options.secrets.get(
      merchantSecretName(this.options.secretPrefix, merchantId),
      this.options.cacheSeconds,
    )) as MerchantSecret | undefined;
    if (!secret?.api_key) throw new Error(`secret of merchant ${merchantId} has no api_key`);
    return { ...profile, secret };
  }

  /** Every merchant id in the table, sorted (reconciliation fetches a statement per account they route to). */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.options.dynamo.send(
        new ScanCommand({
          TableName: this.options.table,
          ProjectionExpression: 'merchant_id',
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) ids.push(String(item.merchant_id));
      start = page.LastEvaluatedKey;
    } while (start);
    return ids.sort();
  }

  private async profile(merchantId: string): Promise<MerchantProfile | undefined> {
    const cached = this.profiles.get(merchantId);
    if (cached && cached.until > Date.now()) return cached.profile;
    const { Item } = await this.options.dynamo.send(
      new GetCommand({ TableName: this.options.table, Key: { merchant_id: merchantId } }),
    );
    const profile = Item as MerchantProfile | undefined;
    // Unknown ids are not cached, so a merchant added a moment ago is found at once.
    if (profile)
      this.profiles.set(merchantId, { profile, until: Date.now() + this.options.cacheSeconds * 1000 });
    return profile;
  }
}
