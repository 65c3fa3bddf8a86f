/**
 * Last-resort handlers for the process entry points (workers/main.ts, api/main.ts, the dev stack). An exception that
 * nobody caught, or a promise rejection that nobody handled, leaves the process in an unknown state: it is logged
 * (redacted like every line) and the process exits non-zero, so that its supervisor (systemd, Kubernetes, Docker's
 * restart policy) starts a clean one. Temporal makes that safe: a restarted worker picks up where the last one stopped.
 */
import type { Logger } from './logger';

/** Exit code after an uncaught exception or unhandled rejection. */
export const CRASH_EXIT_CODE = 1;

/** How long the logger gets to write the last line before the process exits. */
const FLUSH_MS = 250;

/**
 * Installs `uncaughtException` and `unhandledRejection` handlers that log the error and exit with
 * {@link CRASH_EXIT_CODE}. `exit` is replaceable for tests; the default is `process.exit`.
 */
export function installProcessGuards(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  let exiting = false;
  const crash = (kind: string, reason: unknown): void => {
    log.error(`${kind}: exiting so that a supervisor restarts the process`, {
      err: reason instanceof Error ? reason.message : String(reason),
      errorType: reason instanceof Error ? reason.name : typeof reason,
      stack: reason instanceof Error ? reason.stack : undefined,
    });
    if (exiting) return;
    exiting = true;
    process.exitCode = CRASH_EXIT_CODE;
    setTimeout(() => exit(CRASH_EXIT_CODE), FLUSH_MS);
  };
  process.on('uncaughtException', (err) => crash('uncaught exception', err));
  process.on('unhandledRejection', (reason) => crash('unhandled promise rejection', reason));
}
