/**
 * Process hygiene of the entry points: an uncaught exception or unhandled rejection is logged and the process exits
 * non-zero (so a supervisor restarts it); a configuration error stops the process with the variable, the problem and
 * an example. Each case runs a real child process.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(TSX, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: `${stdout}${stderr}` });
    });
  });
}

describe('process guards', () => {
  it.each([
    ['throw', 'uncaught exception', 'probe failure (thrown)'],
    ['reject', 'unhandled promise rejection', 'probe failure (rejected)'],
  ])('when a process meets %s, it logs the error and exits with code 1', async (how, kind, message) => {
    const { code, out } = await run([path.join(ROOT, 'test', 'support', 'crash-probe.ts'), how]);
    expect(code).toBe(1);
    const line = out.split('\n').find((l) => l.includes(kind));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', service: 'crash-probe', err: message });
  });

  it.each([
    [
      'api/main.ts',
      'PORT',
      'abc',
      'PORT: must be a port number, a whole number from 0 to 65535 (got "abc"; e.g. PORT=8080)',
    ],
    [
      'workers/main.ts',
      'WORKER_METRICS_PORT',
      '99999',
      'WORKER_METRICS_PORT: must be a port number, a whole number from 0 to 65535 (got "99999"; e.g. WORKER_METRICS_PORT=9465)',
    ],
  ])(
    '%s refuses %s=%s at boot naming the variable, the problem and an example',
    async (entry, variable, value, says) => {
      const { code, out } = await run([path.join(ROOT, entry)], { [variable]: value });
      expect(code).toBe(1);
      expect(out).toContain(says);
    },
  );
});
