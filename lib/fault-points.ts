/**
 * Fault points: named places in activities and the API where the fault suite (`npm run test:faults`) stops a process
 * at an exact moment, e.g. "after the SMTP server accepted an email and before it is recorded". Test-only: they are
 * armed solely through the `FAULT_POINTS` environment variable, which production configuration refuses
 * (lib/config.ts), so a production process reaches every point as a no-op.
 *
 * `FAULT_POINTS` is a comma-separated list of `<point>=<action>[@<n>]`:
 * - `kill`: the process kills itself with SIGKILL (as `kill -9` from outside; nothing is flushed or rolled back)
 * - `stop`: the process stops itself with SIGSTOP (as a VM freeze; the test sends SIGCONT or kills it)
 * - `throw`: the current call throws {@link FaultInjected} (a transient failure the caller retries)
 * - `delay:<ms>`: the current call waits that long, then goes on
 * `@<n>` fires on the n-th time the point is reached in this process (default: the first); it fires once.
 *
 * Example: `FAULT_POINTS=email.after-accept=kill@2` kills the worker after the second accepted email.
 */

/** What an armed fault point does when reached. */
export type FaultAction = { kind: 'kill' } | { kind: 'stop' } | { kind: 'throw' } | { kind: 'delay'; ms: number };

interface ArmedFault {
  action: FaultAction;
  /** Fires when the point is reached for the `onHit`-th time. */
  onHit: number;
  hits: number;
}

/** The error thrown by a `throw` fault point. */
export class FaultInjected extends Error {
  constructor(readonly point: string) {
    super(`fault injected at ${point}`);
    this.name = 'FaultInjected';
  }
}

/** Parses `FAULT_POINTS`; throws an Error naming the bad entry (lib/config.ts reports it as a config error). */
export function parseFaultPoints(spec: string | undefined): Map<string, ArmedFault> {
  const armed = new Map<string, ArmedFault>();
  if (spec === undefined || spec.trim() === '') return armed;
  for (const entry of spec.split(',').map((e) => e.trim())) {
    const match = /^([a-z0-9][a-z0-9.-]*)=(kill|stop|throw|delay:(\d+))(?:@(\d+))?$/.exec(entry);
    if (!match) throw new Error(`FAULT_POINTS entry "${entry}" must be <point>=kill|stop|throw|delay:<ms>[@<n>]`);
    const [, point, action, delayMs, nth] = match;
    const parsed: FaultAction =
      delayMs !== undefined ? { kind: 'delay', ms: Number(delayMs) } : { kind: action as 'kill' | 'stop' | 'throw' };
    armed.set(point!, { action: parsed, onHit: nth === undefined ? 1 : Math.max(1, Number(nth)), hits: 0 });
  }
  return armed;
}

let armedPoints: Map<string, ArmedFault> | undefined;

/** Re-reads `FAULT_POINTS` (tests that arm points in their own process call this after setting the variable). */
export function armFaultPoints(spec: string | undefined = process.env.FAULT_POINTS): void {
  armedPoints = parseFaultPoints(spec);
}

/**
 * Marks a named place; does nothing unless `FAULT_POINTS` arms it. Awaited, so `delay` and `throw` act on the caller.
 * Names are `<area>.<moment>`, e.g. `email.after-accept`, `export.mid-range`, `erasure.mid-batch`.
 */
export async function faultPoint(point: string): Promise<void> {
  armedPoints ??= parseFaultPoints(process.env.FAULT_POINTS);
  const armed = armedPoints.get(point);
  if (!armed) return;
  armed.hits += 1;
  if (armed.hits !== armed.onHit) return;
  switch (armed.action.kind) {
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      // SIGKILL is delivered asynchronously; never let the caller run on meanwhile.
      await new Promise(() => undefined);
      return;
    case 'stop':
      process.kill(process.pid, 'SIGSTOP');
      return;
    case 'throw':
      throw new FaultInjected(point);
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, (armed.action as { ms: number }).ms));
      return;
  }
}
