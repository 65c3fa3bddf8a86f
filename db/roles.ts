/**
 * Least-privilege database roles (README "Security"): an owner role that owns the application database and runs the
 * migrations, and the service's role (API, workers, ops CLI) that reads and writes rows and nothing more. The service's
 * role cannot ALTER tables or disable triggers (only an owner can), cannot UPDATE or DELETE audit rows (revoked here and
 * by migration 20261202101000; the purge goes through the owner's `audit_purge_through` function), and cannot change
 * the migration bookkeeping.
 *
 * `docker-compose.yml` creates the same two roles with deploy/postgres/init-roles.sh (`dl_migrator`, `dl_app`); the
 * dev stack, the tests and the topology use {@link provisionDatabaseRoles} and {@link grantServiceRole} on a server
 * where they may create roles.
 */
import { randomBytes } from 'node:crypto';
import knex from 'knex';
import type { Db } from './connection';

/** The two connections of a provisioned database. */
export interface DatabaseRoles {
  owner: string;
  service: string;
  /** Owner's URL: migrations. */
  ownerUrl: string;
  /** Service's URL: the API, the workers, the ops CLI. */
  serviceUrl: string;
}

/** Tables the service may read and append to but never change. */
const APPEND_ONLY_TABLES = ['audit_events'];
/** Tables only the owner's functions write (the service reads them). */
const READ_ONLY_TABLES = ['audit_chain_anchors', 'audit_keying', 'knex_migrations', 'knex_migrations_lock'];

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function withUser(url: string, user: string, password: string, database?: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  if (database !== undefined) u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Creates (or brings up to date) the owner and service login roles and the database owned by the owner, connecting
 * with `adminUrl` (a role that may create roles and databases). Idempotent: a role or database that exists is kept
 * (its password set anew); tables an earlier setup created as another user are handed to the owner. Safe for parallel
 * runs on one server as long as the names differ.
 */
export async function provisionDatabaseRoles(
  adminUrl: string,
  opts: { database: string; owner: string; service: string; ownerPassword?: string; servicePassword?: string },
): Promise<DatabaseRoles> {
  for (const name of [opts.database, opts.owner, opts.service]) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unusual database or role name "${name}"`);
  }
  const ownerPassword = opts.ownerPassword ?? randomBytes(18).toString('base64url');
  const servicePassword = opts.servicePassword ?? randomBytes(18).toString('base64url');
  const admin = knex({
    client: 'pg',
    connection: withUser(
      adminUrl,
      new URL(adminUrl).username,
      decodeURIComponent(new URL(adminUrl).password),
      'postgres',
    ),
    pool: { min: 0, max: 1 },
  });
  try {
    for (const [role, password] of [
      [opts.owner, ownerPassword],
      [opts.service, servicePassword],
    ] as const) {
      const exists = await admin('pg_roles').where({ rolname: role }).first<{ rolname: string } | undefined>('rolname');
      // Utility statements take no bind parameters: the password (generated or given) goes in as a literal.
      await admin.raw(
        `${exists ? 'alter' : 'create'} role ?? login nosuperuser nocreatedb nocreaterole noinherit password ${quoteLiteral(password)}`,
        [role],
      );
    }
    const db = await admin('pg_database')
      .where({ datname: opts.database })
      .first<{ datname: string } | undefined>('datname');
    if (!db) await admin.raw('create database ?? owner ??', [opts.database, opts.owner]);
    else await admin.raw('alter database ?? owner to ??', [opts.database, opts.owner]);
    await admin.raw('revoke all on database ?? from public', [opts.database]);
    await admin.raw('grant connect on database ?? to ??, ??', [opts.database, opts.owner, opts.service]);
  } finally {
    await admin.destroy();
  }

  // Inside the database: the owner owns the schema and everything in it (an older setup may have migrated as the
  // superuser), the service may use the schema but not create in it.
  const inside = knex({
    client: 'pg',
    connection: withUser(
      adminUrl,
      new URL(adminUrl).username,
      decodeURIComponent(new URL(adminUrl).password),
      opts.database,
    ),
    pool: { min: 0, max: 1 },
  });
  try {
    await inside.raw('alter schema public owner to ??', [opts.owner]);
    await inside.raw('revoke create on schema public from public');
    await inside.raw('grant usage on schema public to ??', [opts.service]);
    await inside.raw(
      `do $$
       declare r record;
       begin
         for r in select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S')
                     and pg_get_userbyid(c.relowner) <> ${quoteLiteral(opts.owner)}
                     and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i') and c.relkind = 'S')
         loop
           execute format('alter %s %I owner to %I',
             case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
             r.relname, ${quoteLiteral(opts.owner)});
         end loop;
         for r in select p.oid::regprocedure as sig from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = 'public' and pg_get_userbyid(p.proowner) <> ${quoteLiteral(opts.owner)}
         loop
           execute format('alter function %s owner to %I', r.sig, ${quoteLiteral(opts.owner)});
         end loop;
       end $$`,
    );
  } finally {
    await inside.destroy();
  }
  return {
    owner: opts.owner,
    service: opts.service,
    ownerUrl: withUser(adminUrl, opts.owner, ownerPassword, opts.database),
    serviceUrl: withUser(adminUrl, opts.service, servicePassword, opts.database),
  };
}

/**
 * Gives the service's role what it needs after the owner migrated: rows of every table (read and write), sequences,
 * and the audit purge function; then takes back what it must not have: UPDATE and DELETE on the audit log, writes to
 * the anchors and the migration bookkeeping. Run as the owner (`ownerDb`) after every migration.
 */
export async function grantServiceRole(ownerDb: Db, service: string): Promise<void> {
  await ownerDb.raw('grant usage on schema public to ??', [service]);
  await ownerDb.raw('grant select, insert, update, delete on all tables in schema public to ??', [service]);
  await ownerDb.raw('grant usage, select on all sequences in schema public to ??', [service]);
  await ownerDb.raw('revoke truncate, references, trigger on all tables in schema public from ??', [service]);
  for (const table of APPEND_ONLY_TABLES) {
    await ownerDb.raw('revoke update, delete on ?? from ??', [table, service]);
  }
  for (const table of READ_ONLY_TABLES) {
    const exists = await ownerDb.raw<{ rows: { t: string | null }[] }>('select to_regclass(?)::text as t', [table]);
    if (exists.rows[0]?.t) await ownerDb.raw('revoke insert, update, delete on ?? from ??', [table, service]);
  }
  const purge = await ownerDb.raw<{ rows: { f: string | null }[] }>(
    "select to_regprocedure('audit_purge_through(bigint, text, timestamptz)')::text as f",
  );
  if (purge.rows[0]?.f) {
    await ownerDb.raw('revoke execute on function audit_purge_through(bigint, text, timestamptz) from public');
    await ownerDb.raw('grant execute on function audit_purge_through(bigint, text, timestamptz) to ??', [service]);
  }
}

/** Drops roles (tests: after their database is gone, nothing else refers to them). Connects to `serverUrl`'s server. */
export async function dropRoles(serverUrl: string, roles: string[]): Promise<void> {
  const u = new URL(serverUrl);
  u.pathname = '/postgres';
  const admin = knex({ client: 'pg', connection: u.toString(), pool: { min: 0, max: 1 } });
  try {
    for (const role of roles) await admin.raw('drop role if exists ??', [role]);
  } finally {
    await admin.destroy();
  }
}
