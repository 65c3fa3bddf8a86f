/**
 * `npm run topology`: the production topology on this machine, in the foreground until Ctrl-C (README "Running in
 * production"). Builds Temporal Server 1.29.1 and its SQL tool with `go install` on first use (cached outside the
 * clone). Configuration: TOPOLOGY_NAME, TOPOLOGY_POSTGRES_URL, TOPOLOGY_PORT_BASE, TOPOLOGY_WORKERS,
 * TOPOLOGY_NAMESPACE_RETENTION, and the service's own variables (passed to the API and workers).
 */
import path from 'node:path';
import { ROLES } from '../../lib/roles';
import { devTokens } from '../dev-tokens';
import { temporalServerRelease } from './temporal-server';
import { startTopology, topologyOptionsFromEnv } from './topology';

async function main(): Promise<void> {
  const release = temporalServerRelease(true)!;
  const options = topologyOptionsFromEnv(process.env, release);
  console.log(`Starting the topology "${options.name}" (ports from ${options.portBase})...`);
  const topology = await startTopology(options);
  const tokensFile = path.join(topology.runDir, 'dev-tokens.json');
  const tokens = await devTokens(topology.db, tokensFile);
  const { ports } = topology;
  console.log(
    [
      '',
      'Production topology is up (NODE_ENV=production processes against a self-hosted Temporal Server):',
      `  API               ${topology.apiUrl}   (docs: ${topology.apiUrl}/docs)`,
      `  Temporal Server   ${topology.temporal.address}, namespace ${options.namespace}, retention ${options.namespaceRetention}`,
      `                    metrics ${topology.temporal.metricsUrl}`,
      `  PostgreSQL        ${options.name}_temporal, ${options.name}_visibility (Temporal), ${options.name}_app (service)`,
      `  Processes         api (pid ${topology.api.pid}), ${topology.workers.map((w) => `${w.name} (pid ${w.pid})`).join(', ')}`,
      `  Mailbox           http://127.0.0.1:${ports.mailbox}/messages   (SMTP sink ${topology.smtp.url})`,
      `  Subprocessors     ${topology.sim.url}/_calls`,
      `  Logs              ${path.relative(process.cwd(), path.join(topology.runDir, 'logs'))}/ and ${path.relative(process.cwd(), topology.temporal.logFile)}`,
      '',
      `Staff tokens (kept in ${path.relative(process.cwd(), tokensFile)}):`,
      ...ROLES.map((role) => `  ${role.padEnd(15)} ${tokens[role]}`),
      '',
      `Temporal CLI: temporal --address ${topology.temporal.address} --namespace ${options.namespace} workflow list`,
      'Stop: Ctrl-C',
      '',
    ].join('\n'),
  );

  // A process of the service that dies is reported; a supervisor (systemd, Kubernetes) would restart it.
  for (const service of [topology.api, ...topology.workers]) {
    void service.exited.then((code) => {
      if (!stopping) console.error(`${service.name} (pid ${service.pid}) exited (${code}): see ${service.logFile}`);
    });
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the API, draining the workers, stopping the Temporal Server...`);
    await topology.stop();
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`Could not start the topology: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
