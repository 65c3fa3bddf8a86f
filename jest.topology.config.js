/**
 * `npm run test:topology`: the production topology test (test/topology/), which starts its own Temporal Server,
 * databases and service processes, so it has none of the main suite's global setup (scripts/test-topology.sh).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/topology'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testTimeout: 600000,
  maxWorkers: 1,
};
