import { ConfigError, DEFAULT_MAX_CACHED_WORKFLOWS, loadConfig, temporalAddress } from '../lib/config';

describe('configuration', () => {
  it('boots on defaults that point at the local stack', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(8080);
    expect(config.temporal.uiPort).toBe(8233);
    expect(temporalAddress(config)).toBe('127.0.0.1:7233');
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/data_lifecycle');
  });

  it('derives the Web UI port from the Temporal port and uses an existing server when TEMPORAL_ADDRESS is set', () => {
    expect(loadConfig({ TEMPORAL_PORT: '9233' }).temporal.uiPort).toBe(10233);
    expect(temporalAddress(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }))).toBe('temporal:7233');
  });

  it('refuses bad values with a message naming every bad variable and its rule', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://db/x',
        SMTP_URL: 'http://mail',
        TEMPORAL_ADDRESS: 'no-port',
        TEMPORAL_MAX_CACHED_WORKFLOWS: '1',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/PORT: .*number/);
    expect(message).toContain('DATABASE_URL: must be a postgres:// URL');
    expect(message).toContain('SMTP_URL: must be an smtp:// or smtps:// URL');
    expect(message).toContain('TEMPORAL_ADDRESS: must be host:port');
    expect(message).toContain('TEMPORAL_MAX_CACHED_WORKFLOWS: must be 0 (no cache) or 2 to 1000000');
  });

  it("bounds the worker's sticky cache to a few hundred workflows unless TEMPORAL_MAX_CACHED_WORKFLOWS says otherwise (0 turns it off)", () => {
    expect(loadConfig({}).temporal.maxCachedWorkflows).toBe(DEFAULT_MAX_CACHED_WORKFLOWS);
    expect(DEFAULT_MAX_CACHED_WORKFLOWS).toBeLessThanOrEqual(500);
    expect(loadConfig({ TEMPORAL_MAX_CACHED_WORKFLOWS: '500' }).temporal.maxCachedWorkflows).toBe(500);
    expect(loadConfig({ TEMPORAL_MAX_CACHED_WORKFLOWS: '0' }).temporal.maxCachedWorkflows).toBe(0);
  });

  it('accepts FAULT_POINTS outside production only, and names a malformed entry', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', FAULT_POINTS: 'email.after-accept=kill@2' })).not.toThrow();
    expect(() => loadConfig({ FAULT_POINTS: 'email.after-accept=explode' })).toThrow(
      /FAULT_POINTS: entry "email.after-accept=explode" must be <point>=kill\|stop\|throw\|delay:<ms>\[@<n>\]/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production', FAULT_POINTS: 'email.after-accept=kill' })).toThrow(
      /FAULT_POINTS: must not be set when NODE_ENV=production/,
    );
  });
});
