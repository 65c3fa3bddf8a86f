/**
 * Workflow-level tests: the real workflow code on the run's Temporal dev server, with activities replaced by plain
 * functions the test writes. Cheaper than the full stack (no API, database, mail or subprocessors) where what is
 * tested is the workflow's own decisions: which activity it calls, when, with what, and what it answers.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import winston from 'winston';
import { createDataConverter } from '../../lib/data-converter';
import { createLogger, installTemporalLogging } from '../../lib/logger';
import { parsePayloadKeys } from '../../lib/payload-codec';
import { TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS } from './test-payload-keys';

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the tests with \`npm test\` (jest globalSetup starts the servers)`);
  return value;
}

/** The service's data converter with the test keys: what the worker and clients of the full stack use. */
export const testDataConverter = () =>
  createDataConverter(parsePayloadKeys(TEST_PAYLOAD_KEYS, TEST_ACTIVE_PAYLOAD_KEY_ID));

/** A test environment on the run's dev server (global setup), its Temporal logs in .data/test/logs/<name>.log. */
export async function startWorkflowEnv(name: string): Promise<TestWorkflowEnvironment> {
  const log = createLogger({
    service: `test-${name}`,
    level: 'debug',
    transports: [
      new winston.transports.File({
        filename: path.join(__dirname, '..', '..', '.data', 'test', 'logs', `${name}.log`),
      }),
    ],
  });
  try {
    installTemporalLogging(log, 'INFO');
  } catch {
    // The runtime is process-wide and installed once; a later file in the same jest worker keeps the first log.
  }
  return TestWorkflowEnvironment.createFromExistingServer({
    address: required('TEST_TEMPORAL_ADDRESS'),
    namespace: required('TEST_TEMPORAL_NAMESPACE'),
    client: { dataConverter: testDataConverter() },
  });
}

/**
 * Runs `fn` while a worker with the production workflow bundle and the given activities polls a task queue of its
 * own (passed to `fn`), and shuts the worker down afterwards.
 */
export async function withStubbedWorker<T>(
  env: TestWorkflowEnvironment,
  activities: object,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `test-stubbed-${randomUUID().slice(0, 8)}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: required('TEST_TEMPORAL_NAMESPACE'),
    taskQueue,
    workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
    activities,
    dataConverter: testDataConverter(),
  });
  return worker.runUntil(fn(taskQueue));
}
