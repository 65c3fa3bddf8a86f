/**
 * `retention status <customerId>` and `schedules status`: what Temporal is doing for the service right now, read
 * through the typed query of the retention lifecycle and the schedule's description.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { retentionSweepScheduleId, retentionWorkflowId } from '../../lib/pure/temporal-ids';
import { retentionStatusQuery } from '../../workflows/retention';
import { output, withTemporal } from './cli-context';

function parseUuid(value: string): string {
  const parsed = z.uuid().safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError('must be a customer id (UUID)');
  return parsed.data;
}

export function registerTemporalStatusCommands(program: Command): void {
  program
    .command('retention')
    .description("A customer's retention lifecycle")
    .command('status <customerId>')
    .description("Stage, contract end, next expiry and the timer of each category (the workflow's status query)")
    .option('--json', 'print JSON')
    .action(async (customerId: string, opts: { json?: boolean }) => {
      const id = parseUuid(customerId);
      const workflowId = retentionWorkflowId(id);
      const status = await withTemporal(async (client) => {
        try {
          return await client.workflow.getHandle(workflowId).query(retentionStatusQuery);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new Error(`no retention lifecycle for customer ${id}`, { cause: err });
          throw err;
        }
      });
      output(opts.json, { workflowId, ...status }, (s) => {
        console.log(
          `retention lifecycle ${s.workflowId}: ${s.stage} (policy set ${s.policySet ?? '-'}, run ${s.runs})`,
        );
        console.log(`  contract end  ${s.contractEnd ?? 'open-ended'}`);
        console.log(
          `  next expiry   ${s.nextExpiry ? `${s.nextExpiry.at} (${s.nextExpiry.categories.join(', ')})` : '-'}`,
        );
        console.log(`  checked       ${s.lastCheckedAt ?? '-'}`);
        console.table(
          Object.entries(s.categories).map(([category, c]) => ({
            category,
            state: c?.state,
            period: c?.period ?? '',
            expiresAt: c?.expiresAt ?? '',
          })),
        );
      });
    });

  program
    .command('schedules')
    .description('Temporal Schedules of the service')
    .command('status')
    .description('The rolling retention sweep: interval, paused or not, recent and next runs')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const result = await withTemporal(async (client, config) => {
        const scheduleId = retentionSweepScheduleId(config.temporal.taskQueue);
        const d = await client.schedule.getHandle(scheduleId).describe();
        return {
          scheduleId,
          paused: d.state.paused,
          note: d.state.note ?? null,
          intervals: d.spec.intervals?.map((i) => ({ every: Number(i.every) })) ?? [],
          overlap: d.policies.overlap,
          runs: d.info.numActionsTaken,
          missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
          running: d.info.runningActions.map((a) => a.workflow.workflowId),
          recent: d.info.recentActions.map((a) => ({
            scheduledAt: a.scheduledAt.toISOString(),
            takenAt: a.takenAt.toISOString(),
            workflowId: a.action.workflow.workflowId,
          })),
          next: d.info.nextActionTimes.map((t) => t.toISOString()),
        };
      });
      output(opts.json, result, (r) => {
        console.log(
          `${r.scheduleId}: ${r.paused ? 'PAUSED' : 'active'}, every ${r.intervals.map((i) => `${i.every} ms`).join(', ')}`,
        );
        console.log(`  runs ${r.runs}, missed (catch-up window) ${r.missedCatchupWindow}, running ${r.running.length}`);
        console.log(`  last    ${r.recent.at(-1)?.takenAt ?? '-'}`);
        console.log(`  next    ${r.next.slice(0, 3).join(', ') || '-'}`);
      });
    });
}
