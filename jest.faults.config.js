/**
 * `npm run test:faults`: the fault suite (test/faults/, scripts/test-faults.sh). Each scenario starts its own private
 * PostgreSQL cluster, Temporal dev server and worker processes and hurts them on purpose, so scenarios run one at a
 * time (they would otherwise disturb each other's timing on a small machine) and have none of the main suite's setup.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  testTimeout: 600000,
  maxWorkers: 1,
};
