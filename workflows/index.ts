/** Every workflow type the worker registers. The bundler starts from this file. */
export { onboardingWorkflow } from './onboarding';
