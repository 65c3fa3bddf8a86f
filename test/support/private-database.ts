/**
 * A database of one test file's own on the run's server, provisioned as the run's is (db/roles.ts: an owner role
 * migrates, the service's role runs the stack): for tests that count or tamper with what the whole database holds,
 * which other test files sharing the run's database would change under them.
 */
import { createDb, dropDatabase, migrateLatest, type Db } from '../../db/connection';
import { withDatabase } from '../../db/embedded-postgres';
import { dropRoles, grantServiceRole, provisionDatabaseRoles, type DatabaseRoles } from '../../db/roles';

export interface PrivateDatabase {
  roles: DatabaseRoles;
  /** As the owner role (migrations, DDL). */
  owner: Db;
  /** As the server's superuser (what the worst insider could do). */
  admin: Db;
  /** Closes the connections, drops the database and its roles. */
  drop(): Promise<void>;
}

/** Provisions and migrates `<run database>_<suffix>`, with roles named after it. */
export async function createPrivateDatabase(suffix: string): Promise<PrivateDatabase> {
  const server = process.env.TEST_DATABASE_ADMIN_URL!;
  const runDatabase = new URL(server).pathname.slice(1);
  const database = `${runDatabase}_${suffix}`;
  const roles = await provisionDatabaseRoles(server, {
    database,
    owner: `${runDatabase}_${suffix}_owner`,
    service: `${runDatabase}_${suffix}_app`,
  });
  const owner = createDb(roles.ownerUrl, 2);
  await migrateLatest(owner);
  await grantServiceRole(owner, roles.service);
  const admin = createDb(withDatabase(server, database), 2);
  return {
    roles,
    owner,
    admin,
    async drop() {
      await owner.destroy();
      await admin.destroy();
      await dropDatabase(withDatabase(server, database));
      await dropRoles(server, [roles.service, roles.owner]);
    },
  };
}
