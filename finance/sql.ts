import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { channelColumnsSql } from './catalog.ts';

/** The reports finance runs: the names of their SQL files in finance/sql/. */
export const reportNames = ['daily-settlement', 'open-orders', 'ledger'] as const;
export type ReportName = (typeof reportNames)[number];

/** Every SQL file: the reports and the curate queries. Athena's named queries are made from the same files. */
export const sqlNames = [...reportNames, 'curate-orders', 'curate-refunds'] as const;
export type SqlName = (typeof sqlNames)[number];

const sqlDir = fileURLToPath(new URL('./sql/', import.meta.url));

/**
 * The text of one SQL file as Athena's named query holds it and DuckDB runs it: the curate query with the columns
 * `channels` add written in where its `-- channel columns` line stands.
 */
export function readSql(name: SqlName, channels: readonly ChannelDescriptor[] = installedChannels): string {
  const text = readFileSync(join(sqlDir, `${name}.sql`), 'utf8');
  return text.replace(/^ {2}-- channel columns:.*\n/m, () => channelColumnsSql(channels));
}
