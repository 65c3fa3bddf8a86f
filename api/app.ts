/**
 * The Express application, built from injected dependencies so tests boot it on port 0 against real servers.
 */
import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import swaggerUi from 'swagger-ui-express';
import type { Logger } from '../lib/logger';
import { buildOpenApiDocument } from './openapi';
import { errorHandler, notFoundHandler } from './problem';
import { customersRouter } from './routes/customers';
import { healthRouter } from './routes/health';
import { requestsRouter } from './routes/requests';

/** What the API needs from the outside world. */
export interface AppDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: Logger;
}

/** Largest JSON body accepted; onboarding bodies are a few KB. */
const BODY_LIMIT = '256kb';

/** Builds the app (does not listen). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(helmet());
  app.use(express.json({ limit: BODY_LIMIT }));
  app.use((req, res, next) => {
    // Until staff authentication lands every call is attributed to the API itself.
    res.locals.actor = 'system:api';
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      deps.log.info('http', {
        method: req.method,
        path: req.route ? `${req.baseUrl}${(req.route as { path: string }).path}` : req.path,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    next();
  });

  const openApi = buildOpenApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  // Swagger UI needs inline scripts; its own CSP replaces helmet's strict default on /docs only.
  app.use('/docs', helmet({ contentSecurityPolicy: false }), swaggerUi.serve, swaggerUi.setup(openApi));

  app.use(healthRouter(deps));
  app.use(customersRouter(deps));
  app.use(requestsRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.log));
  return app;
}
