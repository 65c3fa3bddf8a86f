/**
 * The staff console: static files (HTML, ES modules, CSS) under `/console`, no build step. The files hold no data;
 * the page asks for a staff token once, keeps it in sessionStorage and sends it as a bearer token on every call to
 * the `/v1` API, so the console can do exactly what the token's role may do through the API and nothing more.
 */
import path from 'node:path';
import express, { Router } from 'express';
import helmet from 'helmet';

/** Where the console's files are: `console/` beside `api/` (in the source tree, and under dist/ in the image). */
export const CONSOLE_DIR = path.resolve(__dirname, '..', '..', 'console');

export function consoleRouter(): Router {
  const router = Router();
  // Stricter than the API default: scripts and styles only from here, no inline script; the certificate view is an
  // HTML document shown in a sandboxed frame built from a string (srcdoc), which needs no frame source.
  const csp = helmet.contentSecurityPolicy({
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameSrc: ["'self'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
    },
  });
  // Relative module paths need the trailing slash; `/console/` itself (which the route matches too) is served below.
  router.get('/console', (req, res, next) => {
    if (req.originalUrl.split('?')[0] === '/console') res.redirect(301, '/console/');
    else next();
  });
  router.use(
    '/console',
    csp,
    (_req, res, next) => {
      // Always fetch the current files: a console older than the API it talks to would offer stale actions.
      res.set('Cache-Control', 'no-cache');
      next();
    },
    express.static(CONSOLE_DIR, { index: 'index.html', fallthrough: true, dotfiles: 'ignore' }),
  );
  return router;
}
