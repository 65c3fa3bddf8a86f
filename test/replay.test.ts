/**
 * Replay: every recorded history in test/histories (test/support/histories.ts, `npm run histories:record`) must replay
 * against the current workflow code without non-determinism. A change that fails here would break the workflows of
 * that type already running in production (retention workflows run for years): make it with `patched()` instead
 * (docs/versioning.md). Every registered workflow type must have fixtures, so a new process cannot skip this.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { createDataConverter } from '../lib/data-converter';
import { parsePayloadKeys } from '../lib/payload-codec';
import * as workflows from '../workflows';
import { HISTORIES_DIR, listFixtures } from './support/histories';
import { historyFromJson } from './support/history-json';
import { TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS } from './support/test-payload-keys';

/**
 * Registered workflow types allowed to have no fixtures yet, each with the reason. Only for a process whose full-stack
 * tests do not exist yet (e.g. correction, termination or deletion request while they are being built): record its
 * main paths with `npm run histories:record` as soon as they do, and remove the entry. A stale entry fails the test.
 */
const AWAITING_FIXTURES: Readonly<Record<string, string>> = {};

const registeredTypes = Object.entries(workflows)
  .filter(([, value]) => typeof value === 'function')
  .map(([name]) => name)
  .sort();
const fixtures = listFixtures();

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the tests with \`npm test\` (jest globalSetup bundles workflows)`);
  return value;
}

describe('recorded workflow histories', () => {
  it('exist for every workflow type the worker registers, unless it is listed as awaiting fixtures', () => {
    const covered = new Set(fixtures.map((f) => f.workflowType));
    expect(registeredTypes.filter((t) => !covered.has(t) && !(t in AWAITING_FIXTURES))).toEqual([]);
    // An exemption for a type that has fixtures, or that no longer exists, is out of date.
    expect(Object.keys(AWAITING_FIXTURES).filter((t) => covered.has(t) || !registeredTypes.includes(t))).toEqual([]);
  });

  it('belong to registered workflow types, each history starting the type its folder names', () => {
    const misplaced = fixtures.flatMap(({ file, workflowType }) => {
      if (!registeredTypes.includes(workflowType)) return [`${file}: no registered workflow type ${workflowType}`];
      const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      return started === workflowType ? [] : [`${file}: starts ${started}`];
    });
    expect(misplaced).toEqual([]);
  });

  it('replay against the current workflow code without non-determinism', async () => {
    const histories = fixtures.map(({ file }) => ({
      // The file name stands in for the workflow id (histories do not carry it), so a failure names its fixture.
      workflowId: file,
      history: historyFromJson(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'))),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      {
        workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
        // The fixtures' payloads are encrypted with the test keys: replay decodes them as the worker does.
        dataConverter: createDataConverter(parsePayloadKeys(TEST_PAYLOAD_KEYS, TEST_ACTIVE_PAYLOAD_KEY_ID)),
      },
      histories,
    )) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});
