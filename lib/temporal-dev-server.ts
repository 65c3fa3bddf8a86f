/**
 * The arguments every `temporal server start-dev` of the service shares (its ports, namespace and log level are each
 * caller's own): the dev stack (`npm start`), the tests, the fault suite and the benchmarks all run the server through
 * these, so that what the benchmarks and the fault suite exercise is what `npm start` runs.
 */
import { TypedSearchAttributes } from '@temporalio/common';
import { ALL_SEARCH_ATTRIBUTES } from './pure/temporal-ids';

/**
 * The service's search attributes, registered before the server serves its first call, and the search attribute
 * cache switched back on.
 *
 * The dev server turns that cache off by default (`system.forceSearchAttributesCacheRefreshOnRead`), so that an
 * attribute created while it runs can be used at once. It then reads the namespace's attribute map from its database
 * on every start with search attributes, every `RequestStage` upsert and every visibility write: about 10 ms of the
 * server's CPU per onboarding (docs/benchmarks.md, orchestration). The service creates no attribute while the server
 * runs (all of them are here, at start), so it keeps the cache on, as a Temporal Server does by default
 * (docker-compose.yml).
 */
export function devServerSearchAttributeArgs(): string[] {
  return [
    ...ALL_SEARCH_ATTRIBUTES.flatMap((key) => [
      '--search-attribute',
      `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`,
    ]),
    '--dynamic-config-value',
    'system.forceSearchAttributesCacheRefreshOnRead=false',
  ];
}

/**
 * Keeps the server's state in the SQLite file `dbFile`, so that workflows, timers and tasks outlive a restart. The
 * WAL journal lets readers and the one writer work side by side; `synchronous=OFF` skips the fsync of every commit,
 * which loses nothing when only the server process dies (the kernel still holds the writes), only when the machine
 * does: the trade a development server makes for speed.
 */
export function devServerStateFileArgs(dbFile: string): string[] {
  return ['--db-filename', dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF'];
}
