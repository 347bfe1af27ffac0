import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type Json } from '@duckdb/node-api';
import {
  curatedColumns,
  currentViewSql,
  financeDatabase,
  financePrefixes,
  financeTables,
  rawItemDuckDbType,
} from './catalog.ts';
import { type ReportName, readSql } from './sql.ts';

/** A query's result: its columns (name and DuckDB type) and its rows as JSON values. */
export interface QueryResult {
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /**
   * Rows with integers as JSON numbers (counts and fen; refused beyond 2⁵³), decimals as exact strings, dates
   * `YYYY-MM-DD` and timestamps `YYYY-MM-DD HH:MM:SS[.fff]` in UTC, as Athena prints them.
   */
  readonly rows: ReadonlyArray<Record<string, Json>>;
}

/**
 * The finance tables over a local root (the exports bucket's stand-in, `.local` in local mode), in DuckDB: the
 * schema `micropay_finance` with `orders_export` (DynamoDB's JSON export, read only from each export's
 * `data/` folder), `orders` (the curated Parquet files) and `orders_current` (the latest snapshot), so the SQL
 * files run here unchanged. Times are UTC: the session time zone is set, not taken from the machine.
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
   * Builds the curated partition of one export (`curated/orders/dt=<dt>/`), replacing what an earlier export
   * of that day wrote (as the state machine clears the prefix before its INSERT INTO), and points
   * `orders_current` at the latest snapshot. Returns the rows written.
   */
  async curate(dt: string, exportId: string): Promise<number> {
    await this.refresh();
    const prepared = await this.connection.prepare(
      `CREATE OR REPLACE TEMP TABLE curated_run AS ${readSql('curate-orders')}`,
    );
    prepared.bind([dt, exportId]);
    await prepared.run();
    const partition = join(this.root, financePrefixes.curated, `dt=${dt}`);
    const staging = `${partition}.staging-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    // Hive layout, as Athena's INSERT INTO writes it: the partition column is in the path, not in the file.
    await this.connection.run(
      `COPY (SELECT * EXCLUDE (dt) FROM curated_run) TO ${literal(join(staging, `${exportId}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const counted = await this.connection.runAndReadAll('SELECT count(*) AS n FROM curated_run');
    await this.connection.run('DROP TABLE curated_run');
    rmSync(partition, { recursive: true, force: true });
    renameSync(staging, partition);
    await this.refresh();
    return Number(counted.getRowObjectsJson()[0]?.n ?? 0);
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
    const columns = curatedColumns.map((c) => c.name).join(', ');
    await this.connection.run(
      `CREATE OR REPLACE VIEW ${financeTables.curated} AS
       SELECT ${columns}, dt
       FROM read_parquet(${literal(join(this.root, financePrefixes.curated, 'dt=*', '*.parquet'))},
         hive_partitioning = true, hive_types = {'dt': 'VARCHAR'})`,
    );
    await this.connection.run(currentViewSql(latest));
  }
}

/** Whether a folder holds a `.json.gz` file anywhere below it. */
function hasFiles(dir: string): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { recursive: true }).some((name) => String(name).endsWith('.json.gz'));
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
