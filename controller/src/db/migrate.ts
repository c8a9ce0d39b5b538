import fs from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { Pool, type QueryResult } from 'pg';
import { REPO_ROOT } from '../config';
import { sqlStatements } from './sql-statements';

/**
 * Applies prisma/migrations with Prisma's WebAssembly schema engine, the same engine `prisma
 * migrate deploy` runs natively: it writes the same `_prisma_migrations` rows (folder name +
 * sha256 checksum), so both stay interchangeable. The wasm engine is an internal Prisma API
 * (pinned in package.json); this module is the only place that touches it.
 */
export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'prisma', 'migrations');
export const SCHEMA_FILE = path.join(REPO_ROOT, 'prisma', 'schema.prisma');

type Bindings = typeof import('@prisma/schema-engine-wasm');
type WasmExports = Record<string, unknown>;
// Node has WebAssembly; our lib settings (no DOM) do not declare it.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: WasmExports } }>;
};

let bindings: Promise<Bindings> | undefined;
let lastPanic: string | undefined;

/**
 * The package's entry imports the .wasm file as an ES module, which Node 20 cannot do; its
 * `_bg` half holds the JS glue, so we instantiate the wasm ourselves and hand it over.
 */
function loadBindings(): Promise<Bindings> {
  bindings ??= (async () => {
    // The engine reports a Rust panic's message here before throwing.
    (globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message: (message: string) => {
        lastPanic = message;
      },
    };
    // An ES module: Node >= 20.19 requires it natively; Jest transforms it (jest.config.js).
    const glue = require('@prisma/schema-engine-wasm/schema_engine_bg') as Bindings & {
      __wbg_set_wasm(exports: WasmExports): void;
    };
    const wasmFile = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmFile), { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  return bindings;
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;
const CHAR_MARK = '\u0000pg-char';

/**
 * The schema engine describes a database through catalog queries whose columns include the
 * one-byte `"char"` type, which @prisma/adapter-pg 7.10 does not map (UnsupportedNativeDataType)
 * although the engine expects them as Character values. The pool lets them through as text,
 * marking the column name; the adapter wrapper then reports them as Character.
 */
class CharMarkingPool extends Pool {
  override query(...args: unknown[]): never {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (!(result instanceof Promise)) return result as never;
    return result.then((r: QueryResult) => {
      for (const field of r.fields ?? []) {
        if (field.dataTypeID !== PG_CHAR_OID) continue;
        field.dataTypeID = PG_TEXT_OID;
        field.name += CHAR_MARK;
      }
      return r;
    }) as never;
  }
}

type Queryable = { queryRaw(query: unknown): Promise<{ columnNames: string[]; columnTypes: number[] }> };

function reportCharColumns<T extends Queryable>(queryable: T): T {
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query) => {
    const result = await queryRaw(query);
    result.columnNames = result.columnNames.map((name, i) => {
      if (!name.endsWith(CHAR_MARK)) return name;
      result.columnTypes[i] = ColumnTypeEnum.Character;
      return name.slice(0, -CHAR_MARK.length);
    });
    return result;
  };
  return queryable;
}

type ScriptRunner = {
  executeRaw(query: { sql: string; args: unknown[]; argTypes: unknown[] }): Promise<number>;
  executeScript(script: string): Promise<void>;
};

/** adapter-pg as the schema engine needs it: `"char"` columns typed, scripts split where statements end. */
function migrationAdapterFactory(pool: Pool): SqlMigrationAwareDriverAdapterFactory {
  const inner = new PrismaPg(pool);
  const wrap = async <A extends Queryable & ScriptRunner & { startTransaction: Function }>(adapter: A) => {
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args: unknown[]) => reportCharColumns(await startTransaction(...args));
    // One statement at a time as before, split where statements end (a function body stays whole).
    adapter.executeScript = async (script) => {
      for (const sql of sqlStatements(script)) await adapter.executeRaw({ sql, args: [], argTypes: [] });
    };
    return reportCharColumns(adapter);
  };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => wrap(await inner.connect()),
    connectToShadowDb: async () => wrap(await inner.connectToShadowDb()),
  } as SqlMigrationAwareDriverAdapterFactory;
}

async function withEngine<T>(databaseUrl: string, run: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const { SchemaEngine } = await loadBindings();
  const schema = fs.readFileSync(SCHEMA_FILE, 'utf8');
  const pool = new CharMarkingPool({ connectionString: databaseUrl, max: 2 });
  const adapter = bindMigrationAwareSqlAdapterFactory(migrationAdapterFactory(pool));
  try {
    const engine = await SchemaEngine.new({ datamodels: [[SCHEMA_FILE, schema]] }, () => undefined, adapter);
    try {
      return await run(engine);
    } catch (err) {
      if (lastPanic) throw new Error(`prisma schema engine panicked: ${lastPanic}`, { cause: err });
      throw err;
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationList {
  const lockPath = path.join(dir, 'migration_lock.toml');
  const folders = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: folders.map((name) => ({
      path: name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8') } },
    })),
  };
}

const NO_FILTER = { externalTables: [], externalEnums: [] };

/** Applies every migration not yet applied; returns the names it applied. */
export async function applyMigrations(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  return withEngine(databaseUrl, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList: readMigrations(dir), filters: NO_FILTER });
    return out.appliedMigrationNames;
  });
}

/**
 * SQL that would take the database at `databaseUrl` to prisma/schema.prisma; empty when they match.
 * Used by the migrations test, and to write a new migration after a schema change.
 */
export async function diffDatabaseToSchema(databaseUrl: string): Promise<string> {
  return withEngine(databaseUrl, async (engine) => {
    const out = await engine.diff({
      // "schemaDatasource" = the database the engine's adapter is connected to.
      from: { tag: 'schemaDatasource', files: [schemaFile()], configDir: REPO_ROOT },
      to: { tag: 'schemaDatamodel', files: [schemaFile()] },
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    });
    return scriptBody(out.stdout ?? '');
  });
}

function schemaFile() {
  return { path: SCHEMA_FILE, content: fs.readFileSync(SCHEMA_FILE, 'utf8') };
}

/** The engine answers "-- This is an empty migration." when nothing differs. */
function scriptBody(script: string): string {
  return script.replace(/^-- This is an empty migration\.\s*$/m, '').trim();
}
