/**
 * docker-compose.yml describes the production topology that `npm run test:topology` proves: Temporal Server of the
 * version the pinned CLI's dev server embeds (read from `temporal --version`), schema set up by its own tool rather
 * than the deprecated auto-setup image, two workers, and an application that never runs with superuser credentials.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALL_SEARCH_ATTRIBUTES } from '../lib/pure/temporal-ids';

const ROOT = path.join(__dirname, '..');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }> | string[];
  volumes?: string[];
}

const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const initRoles = fs.readFileSync(path.join(ROOT, 'deploy', 'postgres', 'init-roles.sh'), 'utf8');

/** `temporal --version`: "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)". */
function cliVersions(): { server: string; ui: string } {
  const cli =
    process.env.TEMPORAL_CLI ??
    execFileSync('bash', [path.join(ROOT, 'scripts', 'temporal-cli.sh')], { encoding: 'utf8' }).trim();
  const out = execFileSync(cli, ['--version'], { encoding: 'utf8' });
  const match = /Server (\d+\.\d+\.\d+), UI (\d+\.\d+\.\d+)/.exec(out);
  if (!match) throw new Error(`unexpected \`temporal --version\` output: ${out}`);
  return { server: match[1]!, ui: match[2]! };
}

const imagesOf = (name: string) =>
  Object.entries(services)
    .filter(([, s]) => s.image?.split(':')[0] === name)
    .map(([service, s]) => [service, s.image!.split(':')[1]]);

/** The app services: those built from this repository. */
const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
const commandText = (s: Service) => [s.entrypoint ?? [], s.command ?? []].flat().join(' ');

describe('docker-compose.yml', () => {
  it('runs the Temporal Server, admin tools and Web UI of the versions the pinned CLI embeds, and no auto-setup image', () => {
    const { server, ui } = cliVersions();
    expect(imagesOf('temporalio/server')).toEqual([['temporal', server]]);
    expect(imagesOf('temporalio/admin-tools').map(([, version]) => version)).toEqual([server, server]);
    expect(imagesOf('temporalio/ui')).toEqual([['temporal-ui', ui]]);
    expect(Object.values(services).filter((s) => s.image?.startsWith('temporalio/auto-setup'))).toEqual([]);
    // The same version as the server the topology test runs (scripts/temporal-server.sh).
    const script = fs.readFileSync(path.join(ROOT, 'scripts', 'temporal-server.sh'), 'utf8');
    expect(/^VERSION=v(.+)$/m.exec(script)?.[1]).toBe(server);
  });

  it('sets up the Temporal schema with temporal-sql-tool before the server starts, on PostgreSQL', () => {
    const schema = services['temporal-schema']!;
    expect(commandText(schema)).toContain('temporal-sql-tool');
    expect(commandText(schema)).toMatch(/update-schema -d \/etc\/temporal\/schema\/postgresql\/v12\//);
    expect(schema.environment).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_USER: 'temporal' });
    expect(services.temporal!.depends_on).toMatchObject({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    expect(services.temporal!.environment).toMatchObject({
      DB: 'postgres12',
      POSTGRES_USER: 'temporal',
      DBNAME: 'temporal',
      VISIBILITY_DBNAME: 'temporal_visibility',
    });
  });

  it('registers the namespace with a retention period and every search attribute the service uses', () => {
    const setup = commandText(services['temporal-setup']!);
    expect(setup).toMatch(/namespace create -n data-lifecycle --retention \d+h/);
    const created = /for a in ([A-Za-z ]+); do/.exec(setup)?.[1]?.trim().split(/\s+/);
    expect(created?.sort()).toEqual(ALL_SEARCH_ATTRIBUTES.map((key) => key.name).sort());
  });

  it('runs two worker processes and one API, built from this repository, in production mode', () => {
    const workers = appServices.filter(([, s]) => commandText(s).includes('dist/workers/main.js'));
    expect(workers.map(([name, s]) => [name, s.deploy?.replicas ?? 1])).toEqual([['worker', 2]]);
    const apis = appServices.filter(([, s]) => commandText(s).includes('dist/api/main.js'));
    expect(apis.map(([name]) => name)).toEqual(['api']);
    for (const [name, s] of [...workers, ...apis]) {
      expect([name, s.environment?.NODE_ENV, s.environment?.TEMPORAL_ADDRESS]).toEqual([
        name,
        'production',
        'temporal:7233',
      ]);
      // The worker writes the archives the API serves: both see the same volume.
      expect([name, s.volumes]).toEqual([name, ['exports:/app/.data/exports', 'audit:/app/.data/audit']]);
    }
  });

  it('gives the app no superuser credentials: the API and workers connect as dl_app, a role with row rights only', () => {
    for (const [name, s] of appServices) {
      const url = new URL(String(s.environment?.DATABASE_URL));
      expect([name, url.username]).toEqual([name, name === 'migrate' ? 'dl_migrator' : 'dl_app']);
      // The password is the role's own, substituted from .env by compose; never the superuser's.
      expect([name, decodeURIComponent(url.password)]).toEqual([
        name,
        name === 'migrate' ? '${MIGRATOR_DB_PASSWORD}' : '${APP_DB_PASSWORD}',
      ]);
    }
    // No app or Temporal service knows the superuser password; only the postgres container does.
    for (const [name, s] of Object.entries(services).filter(([n]) => n !== 'postgres')) {
      expect([name, JSON.stringify(s)]).not.toEqual([name, expect.stringContaining('POSTGRES_PASSWORD')]);
    }
    expect(initRoles).toMatch(/create role dl_app login password :'app_pw' nosuperuser nocreatedb nocreaterole;/);
    expect(initRoles).toMatch(
      /create role temporal login password :'temporal_pw' nosuperuser nocreatedb nocreaterole;/,
    );
    expect(initRoles).toMatch(/grant select, insert, update, delete on tables to dl_app;/);
    expect(services.postgres!.volumes).toContain(
      './deploy/postgres/init-roles.sh:/docker-entrypoint-initdb.d/10-init-roles.sh:ro',
    );
  });
});
