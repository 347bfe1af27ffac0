import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type Json } from '@duckdb/node-api';
import {
  type CuratedColumn,
  curatedColumns,
  currentViewSql,
  duckDbType,
  financeDatabase,
  financePrefixes,
  financeTables,
  rawItemDuckDbType,
  refundColumns,
} from './catalog.ts';
import { type ReportName, readSql, type SqlName } from './sql.ts';

/** A query's result: its columns (name and DuckDB type) and its rows as JSON values. */
export interface QueryResult {
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /**
   * Rows with integers as JSON numbers (counts and fen; refused beyond 2⁵³), decimals as exact strings, dates
   * `YYYY-MM-DD` and timestamps `YYYY-MM-DD HH:MM:SS[.fff]` in UTC, as Athena prints them.
   */
  readonly rows: ReadonlyArray<Record<string, Json>>;
}

/** Rows one curate wrote to each curated table. */
export interface CurateResult {
  readonly orders: number;
  readonly refunds: number;
}

/** The curated tables: the SQL file that builds each, its folder under the root, its columns. */
const curatedTables = [
  {
    table: financeTables.curated,
    sql: 'curate-orders',
    prefix: financePrefixes.curated,
    columns: curatedColumns,
  },
  {
    table: financeTables.refunds,
    sql: 'curate-refunds',
    prefix: financePrefixes.curatedRefunds,
    columns: refundColumns,
  },
] as const satisfies ReadonlyArray<{
  table: string;
  sql: SqlName;
  prefix: string;
  columns: readonly CuratedColumn[];
}>;

/**
 * The finance tables over a local root (the exports bucket's stand-in, `.local` in local mode), in DuckDB: the
 * schema `micropay_finance` with `orders_export` (DynamoDB's JSON export, read only from each export's
 * `data/` folder), `orders` and `refunds` (the curated Parquet files) and `orders_current` and `refunds_current`
 * (the latest snapshot), so the SQL files run here unchanged. Times are UTC: the session time zone is set, not
 * taken from the machine.
 */
export class FinanceDuckDb {
  private readonly instance: DuckDBInstance;
  private readonly connection: DuckDBConnection;
  private readonly root: string;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection, root: string) {
    this.instance = instance;
    this.connection = connection;
    this.root = root;
  }

  static async open(root: string): Promise<FinanceDuckDb> {
    // Every extension the SQL needs (json, parquet, icu) is built into the package: nothing is downloaded.
    const instance = await DuckDBInstance.create(':memory:', {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    await connection.run(`CREATE SCHEMA IF NOT EXISTS ${financeDatabase}`);
    await connection.run(`USE ${financeDatabase}`);
    const db = new FinanceDuckDb(instance, connection, root);
    await db.refresh();
    return db;
  }

  /** The snapshot dates the curated table has, oldest first. */
  snapshots(): string[] {
    const dir = join(this.root, financePrefixes.curated);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => /^dt=(\d{4}-\d{2}-\d{2})$/.exec(name)?.[1])
      .filter((dt) => dt !== undefined)
      .sort();
  }

  /**
   * Builds the curated partitions of one export (`curated/orders/dt=<dt>/` and `curated/refunds/dt=<dt>/`),
   * replacing what an earlier export of that day wrote (as the state machine clears the prefixes before its
   * INSERT INTOs), and points `orders_current` and `refunds_current` at the latest snapshot. Returns the orders
   * written (`curateSnapshot` gives the refunds too).
   */
  async curate(dt: string, exportId: string): Promise<number> {
    return (await this.curateSnapshot(dt, exportId)).orders;
  }

  /** `curate`, returning the rows written to each curated table. */
  async curateSnapshot(dt: string, exportId: string): Promise<CurateResult> {
    await this.refresh();
    const counts: Record<string, number> = {};
    const staged: { staging: string; partition: string }[] = [];
    try {
      for (const { table, sql, prefix } of curatedTables) {
        const prepared = await this.connection.prepare(
          `CREATE OR REPLACE TEMP TABLE curated_run AS ${readSql(sql)}`,
        );
        prepared.bind([dt, exportId]);
        await prepared.run();
        const partition = join(this.root, prefix, `dt=${dt}`);
        const staging = `${partition}.staging-${process.pid}`;
        rmSync(staging, { recursive: true, force: true });
        mkdirSync(staging, { recursive: true });
        staged.push({ staging, partition });
        // Hive layout, as Athena's INSERT INTO writes it: the partition column is in the path, not in the file.
        // A day without refunds still gets its (empty) file, so each snapshot has a partition in both tables.
        await this.connection.run(
          `COPY (SELECT * EXCLUDE (dt) FROM curated_run) TO ${literal(join(staging, `${exportId}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`,
        );
        const counted = await this.connection.runAndReadAll('SELECT count(*) AS n FROM curated_run');
        await this.connection.run('DROP TABLE curated_run');
        counts[table] = Number(counted.getRowObjectsJson()[0]?.n ?? 0);
      }
    } catch (error) {
      for (const { staging } of staged) rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    // Both tables built: only then is either partition replaced (as the state machine publishes after both).
    for (const { staging, partition } of staged) {
      rmSync(partition, { recursive: true, force: true });
      renameSync(staging, partition);
    }
    await this.refresh();
    return {
      orders: counts[financeTables.curated] ?? 0,
      refunds: counts[financeTables.refunds] ?? 0,
    };
  }

  /** Runs one report's SQL file with its positional parameters. */
  report(name: ReportName, parameters: readonly string[]): Promise<QueryResult> {
    return this.query(readSql(name), parameters);
  }

  /** Runs SQL with positional `?` parameters, bound as text (the SQL casts them, as Athena's do). */
  async query(sql: string, parameters: readonly string[] = []): Promise<QueryResult> {
    const prepared = await this.connection.prepare(sql);
    if (parameters.length > 0) prepared.bind([...parameters]);
    const reader = await prepared.runAndReadAll();
    const names = reader.columnNames();
    const types = reader.columnTypes().map(String);
    const rows = reader.getRowObjectsJson().map((row) => {
      const out: Record<string, Json> = {};
      for (const [i, name] of names.entries()) out[name] = jsonValue(row[name] ?? null, types[i] ?? '');
      return out;
    });
    return { columns: names.map((name, i) => ({ name, type: types[i] ?? '' })), rows };
  }

  /** Writes a query's result to a Parquet file. */
  async toParquet(sql: string, parameters: readonly string[], path: string): Promise<void> {
    const prepared = await this.connection.prepare(`CREATE OR REPLACE TEMP TABLE report_out AS ${sql}`);
    if (parameters.length > 0) prepared.bind([...parameters]);
    await prepared.run();
    await this.connection.run(`COPY report_out TO ${literal(path)} (FORMAT parquet)`);
    await this.connection.run('DROP TABLE report_out');
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** (Re)creates the views over the files there are; a table with no files yet has no view. */
  private async refresh(): Promise<void> {
    const exportsGlob = join(
      this.root,
      financePrefixes.exports,
      'dt=*',
      'AWSDynamoDB',
      '*',
      'data',
      '*.json.gz',
    );
    if (hasFiles(join(this.root, financePrefixes.exports))) {
      // Only `data/*.json.gz` is read: the manifests beside `data/` are never rows (the Glue table's
      // storage.location.template points at the same `data/` folder). export_id is that folder's name.
      await this.connection.run(
        `CREATE OR REPLACE VIEW ${financeTables.raw} AS
         SELECT "Item" AS item, dt, regexp_extract(filename, 'AWSDynamoDB/([^/]+)/data/', 1) AS export_id
         FROM read_json(${literal(exportsGlob)}, format = 'newline_delimited', compression = 'gzip',
           columns = {'Item': ${literal(rawItemDuckDbType())}},
           hive_partitioning = true, hive_types = {'dt': 'VARCHAR'}, filename = true)`,
      );
    }
    const latest = this.snapshots().at(-1);
    if (latest === undefined) return;
    for (const { table, prefix, columns } of curatedTables) {
      const names = columns.map((c) => c.name).join(', ');
      const files = join(this.root, prefix, 'dt=*', '*.parquet');
      // A root curated before a table existed (refunds) has no files of it: the table is there, empty.
      const source = hasFiles(join(this.root, prefix), '.parquet')
        ? `SELECT ${names}, dt FROM read_parquet(${literal(files)}, hive_partitioning = true, hive_types = {'dt': 'VARCHAR'})`
        : `SELECT ${columns.map((c) => `CAST(NULL AS ${duckDbType(c.type)}) AS ${c.name}`).join(', ')}, CAST(NULL AS VARCHAR) AS dt WHERE false`;
      await this.connection.run(`CREATE OR REPLACE VIEW ${table} AS ${source}`);
      await this.connection.run(currentViewSql(latest, table));
    }
  }
}

/** Whether a folder holds a file ending in `suffix` anywhere below it. */
function hasFiles(dir: string, suffix = '.json.gz'): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { recursive: true }).some((name) => String(name).endsWith(suffix));
}

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** DuckDB's JSON form of a value, with integers (DuckDB gives BIGINT and HUGEINT as text) as JSON numbers. */
function jsonValue(value: Json, type: string): Json {
  if (typeof value !== 'string' || !/^(BIGINT|HUGEINT|UBIGINT|INTEGER|SMALLINT)$/.test(type)) return value;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer ${value} is beyond 2^53`);
  return n;
}
