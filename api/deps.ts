/**
 * What the API needs from the outside world, in a module of its own: routes and use cases import this type without
 * importing the app that mounts them (which closed an import cycle through the OpenAPI document).
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { AppConfig } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { RateLimits } from './auth';
import type { ApiMetrics } from './metrics';
import type { CodecRouterDeps } from './routes/codec';

/** What the API needs from the outside world. */
export interface AppDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  /** Validated configuration (durations, public base URL, secrets) for routes that start or serve processes. */
  config: AppConfig;
  /** Overrides of {@link DEFAULT_RATE_LIMITS}. */
  limits?: Partial<RateLimits>;
  /** Codec endpoints for the Temporal Web UI (`/codec/encode`, `/codec/decode`); not served when absent. */
  codec?: CodecRouterDeps;
  /** Request timing for Prometheus (api/metrics.ts); the registry itself is served on its own port. */
  metrics?: ApiMetrics;
}
