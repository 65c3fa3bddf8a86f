/** The test worker's workflows: every production workflow plus test-only probes. */
export * from '../../workflows';
export * from './four-eyes-probe';
