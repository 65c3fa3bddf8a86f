/**
 * A process that installs the entry points' guards (lib/process-guards.ts) and then fails the way its argument says:
 * `throw` (an exception nobody catches) or `reject` (a rejection nobody handles). test/process-guards.test.ts runs it.
 */
import { createLogger } from '../../lib/logger';
import { installProcessGuards } from '../../lib/process-guards';

installProcessGuards(createLogger({ service: 'crash-probe' }));
const how = process.argv[2];
setTimeout(() => {
  if (how === 'throw') throw new Error('probe failure (thrown)');
  void Promise.reject(new Error('probe failure (rejected)'));
}, 10);
// Something that would keep a process alive forever, as a server does.
setInterval(() => {}, 60_000);
