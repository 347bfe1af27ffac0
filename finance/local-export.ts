import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { financePrefixes } from './catalog.ts';

/** What one export wrote. */
export interface ExportResult {
  /** The snapshot's date (UTC), the `dt=` of its prefix. */
  readonly dt: string;
  /** DynamoDB's export id: the folder under `AWSDynamoDB/`. */
  readonly exportId: string;
  /** The export's folder (holding `data/` and the manifests). */
  readonly dir: string;
  readonly itemCount: number;
  /** The data files, relative to the root. */
  readonly dataFiles: readonly string[];
}

export interface LocalExportOptions {
  readonly dynamo: DynamoDBClient;
  readonly table: string;
  /** The local stand-in of the exports bucket: keys become paths under it (`.local` in local mode). */
  readonly root: string;
  /** The export time. @default now */
  readonly now?: Date;
  /** Parallel scan segments; DynamoDB also writes one data file per worker. @default 4 */
  readonly segments?: number;
  /** Region and account in the export's ARNs. @default local ones */
  readonly region?: string;
  readonly account?: string;
}

/**
 * DynamoDB's own export format, written from a (local) orders table: `exports/orders/dt=YYYY-MM-DD/AWSDynamoDB/
 * <export id>/` holding `data/*.json.gz` (gzip JSON lines, each `{"Item": <DynamoDB JSON>}`), `manifest-files.json`
 * (one line per data file with its item count, MD5 and key), `manifest-summary.json`, their `.md5` files and
 * `_started`, as ExportTableToPointInTime writes them. So the local curate step reads what Athena reads in AWS.
 * Items are copied as DynamoDB returns them: every attribute, known or not.
 */
export async function writeLocalExport(options: LocalExportOptions): Promise<ExportResult> {
  const segments = options.segments ?? 4;
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '000000000000';
  const now = options.now ?? new Date();
  // A consistent parallel scan, one data file per segment (DynamoDB also writes one file per worker).
  const files = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const items: Record<string, AttributeValue>[] = [];
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await options.dynamo.send(
          new ScanCommand({
            TableName: options.table,
            ConsistentRead: true,
            Segment: segment,
            TotalSegments: segments,
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items;
    }),
  );
  return writeExport({
    root: options.root,
    tableArn: `arn:aws:dynamodb:${region}:${account}:table/${options.table}`,
    exportTime: now,
    files,
  });
}

/** The items of one export, already read, and where it goes. */
export interface ExportFiles {
  readonly root: string;
  readonly tableArn: string;
  /** The point in time the export is of; its UTC date is the `dt`. */
  readonly exportTime: Date;
  /** The items of each data file, in DynamoDB JSON (as the low-level client returns them). */
  readonly files: ReadonlyArray<ReadonlyArray<Record<string, AttributeValue>>>;
}

/** Writes one export in DynamoDB's layout (see `writeLocalExport`). */
export function writeExport(options: ExportFiles): ExportResult {
  const now = options.exportTime;
  const started = new Date();
  const dt = now.toISOString().slice(0, 10);
  // DynamoDB's export ids: 14 digits of epoch milliseconds, a dash, 8 hex digits.
  const exportId = `${String(now.getTime()).padStart(14, '0')}-${randomBytes(4).toString('hex')}`;
  const prefix = `${financePrefixes.exports}dt=${dt}`;
  const exportKey = `${prefix}/AWSDynamoDB/${exportId}`;
  const dir = join(options.root, exportKey);
  write(join(dir, '_started'), '');
  const written = options.files
    .filter((items) => items.length > 0)
    .map((items) => {
      const body = gzipSync(`${items.map((item) => JSON.stringify({ Item: item })).join('\n')}\n`);
      const key = `${exportKey}/data/${randomBytes(13).toString('hex')}.json.gz`;
      write(join(options.root, key), body);
      const md5 = createHash('md5').update(body).digest();
      const entry = {
        itemCount: items.length,
        md5Checksum: md5.toString('base64'),
        etag: md5.toString('hex'),
        dataFileS3Key: key,
      };
      return { entry, bytes: body.byteLength };
    });
  const itemCount = written.reduce((n, f) => n + f.entry.itemCount, 0);
  const manifestFilesKey = `${exportKey}/manifest-files.json`;
  writeWithMd5(options.root, manifestFilesKey, written.map((f) => `${JSON.stringify(f.entry)}\n`).join(''));
  const summary = {
    version: '2020-06-30',
    exportArn: `${options.tableArn}/export/${exportId}`,
    startTime: started.toISOString(),
    endTime: new Date().toISOString(),
    tableArn: options.tableArn,
    tableId: createHash('sha256').update(options.tableArn).digest('hex').slice(0, 32),
    exportTime: now.toISOString(),
    s3Bucket: 'local',
    s3Prefix: prefix,
    s3SseAlgorithm: 'AES256',
    s3SseKmsKeyId: null,
    manifestFilesS3Key: manifestFilesKey,
    billedSizeBytes: written.reduce((n, f) => n + f.bytes, 0),
    itemCount,
    outputFormat: 'DYNAMODB_JSON',
    exportType: 'FULL_EXPORT',
  };
  writeWithMd5(options.root, `${exportKey}/manifest-summary.json`, JSON.stringify(summary));
  return { dt, exportId, dir, itemCount, dataFiles: written.map((f) => f.entry.dataFileS3Key) };
}

function write(path: string, body: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
}

/** A manifest and its `.md5` beside it (base64 MD5, as DynamoDB writes them). */
function writeWithMd5(root: string, key: string, body: string): void {
  write(join(root, key), body);
  write(join(root, key.replace(/\.json$/, '.md5')), createHash('md5').update(body).digest('base64'));
}
