import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StatementRow } from '#core/channels/channel.ts';
import type { AccountLine, StatementStore } from '#core/reconciliation/statements.ts';
import { statementKeys } from '#finance/catalog.ts';

export interface S3StatementStoreOptions {
  /** One client per container, made outside the handler. */
  readonly s3: S3Client;
  /** The exports bucket (the finance construct's). */
  readonly bucket: string;
}

const jsonLines = (items: readonly object[]) =>
  items.length ? `${items.map((item) => JSON.stringify(item)).join('\n')}\n` : '';

/**
 * Statements in the exports bucket, under the keys the local store uses (finance/catalog.ts `statementKeys`): the
 * raw file exactly as fetched, its rows as JSON lines (what the `statement_rows` Glue table reads, one folder per
 * day), and the day's account lines (`statement_accounts`). Each key is written whole by one PUT: a reader sees
 * the old object or the new one, never a part.
 */
export class S3StatementStore implements StatementStore {
  private readonly options: S3StatementStoreOptions;

  constructor(options: S3StatementStoreOptions) {
    this.options = options;
  }

  /** Kept when its raw file is there; listed rather than read, so a missing key is an answer and not a 403. */
  async has(channel: string, account: string, billDate: string): Promise<boolean> {
    const key = statementKeys.raw(channel, account, billDate);
    const { KeyCount } = await this.options.s3.send(
      new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: key, MaxKeys: 1 }),
    );
    return (KeyCount ?? 0) > 0;
  }

  async put(
    channel: string,
    account: string,
    billDate: string,
    raw: Buffer,
    rows: readonly StatementRow[],
  ): Promise<void> {
    // Rows first, the raw file last: a statement counts as kept only once both are written.
    await this.putRows(channel, account, billDate, rows);
    await this.putRaw(channel, account, billDate, raw);
  }

  async record(billDate: string, lines: readonly AccountLine[]): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: statementKeys.accounts(billDate),
        Body: jsonLines(lines),
        ContentType: 'application/x-ndjson',
      }),
    );
  }

  private async putRows(
    channel: string,
    account: string,
    billDate: string,
    rows: readonly StatementRow[],
  ): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: statementKeys.rows(channel, account, billDate),
        Body: jsonLines(rows.map((row) => ({ channel, account, ...row }))),
        ContentType: 'application/x-ndjson',
      }),
    );
  }

  private async putRaw(channel: string, account: string, billDate: string, raw: Buffer): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: statementKeys.raw(channel, account, billDate),
        Body: raw,
        ContentType: 'application/octet-stream',
      }),
    );
  }
}
