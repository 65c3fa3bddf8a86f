/**
 * The Express application, built from injected dependencies so tests boot it on port 0 against real servers.
 */
import express, { type Express } from 'express';
import type { EventEmitter } from 'node:events';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { authenticate, DEFAULT_RATE_LIMITS, rateLimiters, requirePermission } from './auth';
import type { AppDeps } from './deps';
import { inputGuard } from './input-guard';
import { loginGuard } from './login-guard';
import { buildOpenApiDocument } from './openapi';
import { errorHandler, notFoundHandler } from './problem';
import { accessRequestsRouter } from './routes/access-requests';
import { codecRouter } from './routes/codec';
import { consoleRouter } from './routes/console';
import { auditRouter } from './routes/audit';
import { certificatesRouter } from './routes/certificates';
import { changeRequestsRouter } from './routes/change-requests';
import { contractsRouter } from './routes/contracts';
import { correctionRequestsRouter } from './routes/correction-requests';
import { customersRouter } from './routes/customers';
import { decisionsRouter } from './routes/decisions';
import { deletionRequestsRouter } from './routes/deletion-requests';
import { healthRouter } from './routes/health';
import { legalHoldsRouter } from './routes/legal-holds';
import { publicLinksRouter } from './routes/public-links';
import { requestQueueRouter } from './routes/request-queue';
import { requestsRouter } from './routes/requests';
import { retentionPoliciesRouter } from './routes/retention-policies';
import { sessionRouter } from './routes/session';
import {
  SUBPROCESSOR_CALLBACK_PATH,
  subprocessorCallbackBody,
  subprocessorCallbacksRouter,
} from './routes/subprocessor-callbacks';
import { subprocessorsRouter } from './routes/subprocessors';
import { terminationRouter } from './routes/termination';

/** Largest JSON body accepted; onboarding bodies are a few KB. */
const BODY_LIMIT = '256kb';

export type { AppDeps } from './deps';

/** Builds the app (does not listen). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Which proxies' X-Forwarded-For to believe for req.ip (TRUST_PROXY): the per-address limits key on it.
  app.set('trust proxy', deps.config.http.trustProxy);
  app.use(helmet());
  if (deps.metrics) app.use(deps.metrics.httpMiddleware);
  // Signed subprocessor callbacks keep their raw bytes (the signature covers them); express.json then skips them.
  app.use(SUBPROCESSOR_CALLBACK_PATH, subprocessorCallbackBody());
  app.use(express.json({ limit: BODY_LIMIT }));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      deps.log.info('http', {
        staffId: (res.locals.staff as { id?: string } | undefined)?.id,
        method: req.method,
        path: req.route ? `${req.baseUrl}${(req.route as { path: string }).path}` : req.path,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    next();
  });

  const limits = { ...DEFAULT_RATE_LIMITS, ...deps.limits };
  // One login guard for the API and the codec endpoints: failed authentications count together (api/login-guard.ts).
  const login = loginGuard({ db: deps.db, log: deps.log, limits });
  // startServer's stop() emits `close` on the app (an EventEmitter) once its server has closed.
  (app as EventEmitter).on('close', () => login.flush());

  // The codec endpoints answer CORS for the Web UI themselves, so they come before the general limiter and guard and
  // check the token inside (a refusal without CORS headers would reach the browser as an opaque network error).
  if (deps.codec) {
    app.use(
      codecRouter({
        ...deps.codec,
        authenticate: deps.config.codec.requireAuth
          ? requirePermission({ log: deps.log, login }, 'codec:use')
          : undefined,
      }),
    );
  }

  const limiters = rateLimiters(limits);
  app.use(['/verify', '/download', '/exports', '/acknowledge'], limiters.publicLinks);
  app.use(limiters.api);
  // Every request past this point is authenticated and authorised by the route table, unless the table says public.
  app.use(authenticate({ log: deps.log, login }));
  // Malformed percent-escapes in path parameters, NUL and lone surrogates anywhere: 400 naming the field (after the
  // guard, so that a caller without a token learns nothing about a route's input).
  app.use(inputGuard());

  const openApi = buildOpenApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  // Swagger UI needs inline scripts; its own CSP replaces helmet's strict default on /docs only.
  app.use('/docs', helmet({ contentSecurityPolicy: false }), swaggerUi.serve, swaggerUi.setup(openApi));
  app.use(consoleRouter());

  app.use(healthRouter(deps));
  app.use(customersRouter(deps));
  app.use(contractsRouter(deps));
  app.use(retentionPoliciesRouter(deps));
  app.use(requestsRouter(deps));
  app.use(requestQueueRouter(deps));
  app.use(sessionRouter(deps));
  app.use(accessRequestsRouter(deps));
  app.use(correctionRequestsRouter(deps));
  app.use(deletionRequestsRouter(deps));
  app.use(publicLinksRouter(deps));
  app.use(subprocessorsRouter(deps));
  app.use(legalHoldsRouter(deps));
  app.use(subprocessorCallbacksRouter(deps));
  app.use(auditRouter(deps));
  app.use(decisionsRouter(deps));
  app.use(changeRequestsRouter(deps));
  app.use(certificatesRouter(deps));
  app.use(terminationRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.log));
  return app;
}
