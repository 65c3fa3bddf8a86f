/**
 * The outbound allowances of the tests: the fakes (test/fakes/) listen on plain http on 127.0.0.1, which the service
 * refuses by default (lib/outbound-destinations.ts). Set here, explicitly, so the protections stay on everywhere else.
 */
import { outboundPolicy } from '../../lib/outbound-destinations';

/** As environment variables, for the service configuration of a test stack. */
export const TEST_OUTBOUND_ENV = { SUBPROCESSOR_ALLOW_HTTP: 'true', SUBPROCESSOR_ALLOWED_HOSTS: '127.0.0.1' };

/** As an outbound policy, for tests that build a subprocessor client of their own. */
export const TEST_OUTBOUND_POLICY = outboundPolicy({ allowHttp: true, allowedEntries: ['127.0.0.1'] });
