/** Tests run against a real Temporal dev server and a real PostgreSQL started once per run (test/global-setup.ts). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The production topology and the fault suite have their own commands and configurations (npm run test:topology,
  // jest.topology.config.js; npm run test:faults, jest.faults.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/topology/', '<rootDir>/test/faults/'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
