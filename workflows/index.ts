/** Every workflow type the worker registers. The bundler starts from this file. */
export { onboardingWorkflow } from './onboarding';
export { accessRequestWorkflow } from './access-request';
export { correctionWorkflow } from './correction';
export { erasureWorkflow } from './erasure';
export { retentionWorkflow } from './retention';
export { retentionSweepWorkflow } from './retention-sweep';
export { deletionRequestWorkflow } from './deletion-request';
export { terminationWorkflow } from './termination';
export { auditVerifyWorkflow } from './audit-verify';
export { contractEndCheckWorkflow } from './contract-end-check';
export { requestStartReconcilerWorkflow } from './request-start-reconciler';
