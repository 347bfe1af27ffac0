import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { channelColumnsSql } from './catalog.ts';

/** The reports finance runs: the names of their SQL files in finance/sql/. */
export const reportNames = ['daily-settlement', 'open-orders', 'ledger'] as const;
export type ReportName = (typeof reportNames)[number];

/** The reconciliation's SQL files (SPEC section 9): the comparison, and two readings of its output. */
export const reconciliationSqlNames = [
  'reconcile',
  'reconciliation-discrepancies',
  'reconciliation-totals',
] as const;

/**
 * Every SQL file: the reports, the curate queries and the reconciliation's. Athena's named queries are made from
 * the same files.
 */
export const sqlNames = [
  ...reportNames,
  'curate-orders',
  'curate-refunds',
  ...reconciliationSqlNames,
] as const;
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

/**
 * How many `?` parameter markers a query has, outside comments and string literals: Athena refuses a query given
 * another number of parameters, and a parameter stands where its marker is, so a value used twice is given twice.
 */
export function parameterCount(sql: string): number {
  const code = sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, '');
  return code.split('?').length - 1;
}

/** finance/sql/reconcile.sql's parameters for one settlement day: the day, at each of its markers. */
export function reconcileParameters(billDate: string): string[] {
  return Array.from({ length: parameterCount(readSql('reconcile')) }, () => billDate);
}
