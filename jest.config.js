/** Tests run against a real Temporal dev server and a real PostgreSQL started once per run (test/global-setup.ts). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The production topology has its own command and configuration (npm run test:topology, jest.topology.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/topology/'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
