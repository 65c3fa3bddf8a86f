/**
 * The data map (lib/pure/data-map.ts) is the one list of customer-owned tables: checked here against the live,
 * migrated schema, against the processes that read it, and against its generated documentation.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createDb, type Db } from '../db/connection';
import { dataMapDrift } from '../db/data-map-schema';
import { EXPORT_TABLES } from '../activities/export';
import { ROLLING_SWEEP_TABLES } from '../activities/retention';
import { SCOPE_CATEGORIES } from '../lib/pure/access-scope';
import { DATA_CATEGORIES } from '../lib/pure/data-categories';
import { DATA_MAP } from '../lib/pure/data-map';
import { CATEGORIES_OUTSIDE_ERASURE, ERASURE_TABLES, TABLES_OUTSIDE_ERASURE } from '../lib/pure/erasure-plan';
import { ALLOWED_CLOCKS } from '../lib/pure/retention';

const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

let db: Db;
beforeAll(() => {
  // As the owner role that runs migrations: the test plays a migration that adds tables.
  db = createDb(process.env.TEST_DATABASE_OWNER_URL!, 2);
});
afterAll(async () => {
  await db.destroy();
});

describe('the data map against the live schema', () => {
  it('lists every table with a customer_id or request_id column, and each mapped table has the columns it uses', async () => {
    expect(await dataMapDrift(db)).toEqual({ unmapped: [], missingColumns: [] });
  });

  it('when a migration adds a customer-owned table the map lacks, the check names it', async () => {
    await db
      .transaction(async (trx) => {
        await trx.raw('create table customer_notes (id bigserial primary key, customer_id uuid not null)');
        await trx.raw('create table request_attachments (id bigserial primary key, request_id uuid not null)');
        expect((await dataMapDrift(trx)).unmapped).toEqual(['customer_notes', 'request_attachments']);
        throw new Error('rollback');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
    expect((await dataMapDrift(db)).unmapped).toEqual([]);
  });
});

describe('every process reads the one map', () => {
  it('the export writes a file for every category a scope covers, from the map, in archive order', () => {
    const exported = new Set(EXPORT_TABLES.flatMap((t) => t.categories));
    for (const c of SCOPE_CATEGORIES.all) expect([c, exported.has(c)]).toEqual([c, true]);
    expect(EXPORT_TABLES.map((t) => t.table)).toEqual(
      DATA_MAP.filter((t) => 'position' in t.export)
        .sort(
          (a, b) => ('position' in a.export ? a.export.position : 0) - ('position' in b.export ? b.export.position : 0),
        )
        .map((t) => t.table),
    );
  });

  it('the erasure covers every category but those it leaves to their own module, and every table has a treatment', () => {
    const erased = new Set(ERASURE_TABLES.flatMap((t) => t.categories));
    for (const c of DATA_CATEGORIES) {
      expect([c, erased.has(c) || CATEGORIES_OUTSIDE_ERASURE[c] !== undefined]).toEqual([c, true]);
    }
    const known = [...ERASURE_TABLES.map((t) => t.table), ...Object.keys(TABLES_OUTSIDE_ERASURE)].sort();
    expect(known).toEqual(DATA_MAP.map((t) => t.table).sort());
  });

  it('the rolling sweep has a table for every category that may run on the record-creation clock', () => {
    const creationClock = DATA_CATEGORIES.filter(
      (c) => ALLOWED_CLOCKS[c].includes('record_creation') && c !== 'audit_log' && c !== 'export_archives',
    );
    expect(Object.keys(ROLLING_SWEEP_TABLES).sort()).toEqual([...creationClock].sort());
  });

  it('positions are unique within each treatment', () => {
    const exportPositions = DATA_MAP.flatMap((t) => ('position' in t.export ? [t.export.position] : []));
    const erasurePositions = DATA_MAP.flatMap((t) => ('position' in t.erasure ? [t.erasure.position] : []));
    expect(new Set(exportPositions).size).toBe(exportPositions.length);
    expect(new Set(erasurePositions).size).toBe(erasurePositions.length);
  });
});

describe('docs/data-map.md', () => {
  it('is what `npm run docs:data-map` generates from the map', () => {
    const check = spawnSync(TSX, [path.join(ROOT, 'scripts', 'data-map-doc.ts'), '--check'], { encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
