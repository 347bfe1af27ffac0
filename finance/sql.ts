import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The reports finance runs: the names of their SQL files in finance/sql/. */
export const reportNames = ['daily-settlement', 'open-orders', 'ledger'] as const;
export type ReportName = (typeof reportNames)[number];

/** Every SQL file: the reports and the curate query. Athena's named queries are made from the same files. */
export const sqlNames = [...reportNames, 'curate-orders'] as const;
export type SqlName = (typeof sqlNames)[number];

const sqlDir = fileURLToPath(new URL('./sql/', import.meta.url));

/** The text of one SQL file, exactly as Athena's named query holds it and DuckDB runs it. */
export function readSql(name: SqlName): string {
  return readFileSync(join(sqlDir, `${name}.sql`), 'utf8');
}
