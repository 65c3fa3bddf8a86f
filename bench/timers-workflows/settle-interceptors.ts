/**
 * Workflow interceptors of the timers benchmark (bench/timers.ts), bundled with the measured workflows: they tell the
 * benchmark, through a sink, when a workflow has settled. A workflow has settled when it starts its first timer (the
 * retention workflow, now asleep until its next expiry or re-check) or returns (the no-op baseline). Sinks are
 * delivered after the activation completes and never during replay, so each is counted once.
 */
import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export interface SettleSinks extends Sinks {
  bench: { settled(how: 'timer' | 'completed'): void };
}

const { bench } = proxySinks<SettleSinks>();

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      startTimer(input, next) {
        bench.settled('timer');
        return next(input);
      },
    },
  ],
  inbound: [
    {
      async execute(input, next) {
        const result = await next(input);
        bench.settled('completed');
        return result;
      },
    },
  ],
});
