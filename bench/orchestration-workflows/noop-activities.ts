/**
 * The baseline of the orchestration benchmark (bench/orchestration.ts): a workflow that runs as many activities as an
 * onboarding, in the same shape (one, then `parallel` at once, then the rest one after another), each doing nothing.
 * Bundled on its own, so its worker carries none of the service's code.
 */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '30 seconds' });

export interface NoopActivitiesInput {
  /** Activities in all. */
  activities: number;
  /** How many of them run at the same time, after the first. */
  parallel: number;
}

export async function noopActivitiesWorkflow(input: NoopActivitiesInput): Promise<number> {
  await noop();
  await Promise.all(Array.from({ length: input.parallel }, () => noop()));
  for (let i = 1 + input.parallel; i < input.activities; i++) await noop();
  return input.activities;
}
