import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Merchant, MerchantProfile, MerchantSecret } from '#core/merchants.ts';
import type { MerchantDirectory } from '#core/ports.ts';

/** The Secrets Manager name of a merchant's secret. */
export const merchantSecretName = (prefix: string, merchantId: string): string => `${prefix}${merchantId}`;

export interface MerchantDirectoryOptions {
  readonly dynamo: DynamoDBClient;
  readonly secrets: SecretsManagerClient;
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
  private readonly doc: DynamoDBDocumentClient;
  private readonly secrets: SecretsProvider;
  private readonly options: MerchantDirectoryOptions;
  private readonly profiles = new Map<string, { profile: MerchantProfile | undefined; until: number }>();

  constructor(options: MerchantDirectoryOptions) {
    this.options = options;
    this.doc = DynamoDBDocumentClient.from(options.dynamo);
    this.secrets = new SecretsProvider({ awsSdkV3Client: options.secrets });
  }

  async get(merchantId: string): Promise<Merchant | undefined> {
    const profile = await this.profile(merchantId);
    if (!profile) return undefined;
    const secret = (await this.secrets.get(merchantSecretName(this.options.secretPrefix, merchantId), {
      transform: 'json',
      maxAge: this.options.cacheSeconds,
    })) as MerchantSecret | undefined;
    if (!secret?.api_key) throw new Error(`secret of merchant ${merchantId} has no api_key`);
    return { ...profile, secret };
  }

  private async profile(merchantId: string): Promise<MerchantProfile | undefined> {
    const cached = this.profiles.get(merchantId);
    if (cached && cached.until > Date.now()) return cached.profile;
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.options.table, Key: { merchant_id: merchantId } }),
    );
    const profile = Item as MerchantProfile | undefined;
    // Unknown ids are not cached, so a merchant added a moment ago is found at once.
    if (profile)
      this.profiles.set(merchantId, { profile, until: Date.now() + this.options.cacheSeconds * 1000 });
    return profile;
  }
}
