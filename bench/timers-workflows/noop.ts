/**
 * The baseline of the timers benchmark (bench/timers.ts): a workflow that does nothing, bundled on its own so the
 * baseline worker carries none of the service's code. It takes the same input as the retention workflow.
 */

/** Completes at once. */
export async function noopWorkflow(_input: { customerId: string }): Promise<void> {}
