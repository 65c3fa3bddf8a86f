/**
 * What every `temporal server start-dev` of the service is started with besides its ports and files: the dev stack
 * (`npm start`), the tests, the fault suite and the benchmarks all run the server through these arguments, so that
 * what the benchmarks measure is what `npm start` runs.
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
