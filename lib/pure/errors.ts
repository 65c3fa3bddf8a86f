/**
 * Domain errors. Their class names travel as Temporal failure types, so the names are part of the contract:
 * the ones in {@link NON_RETRYABLE_ERROR_TYPES} stop retries, everything else is retried with backoff.
 */

/** Base class: sets `name` to the subclass name so Temporal reports it as the failure type. */
export abstract class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A subprocessor answered a permanent 4xx (anything but 408/409/429): retrying cannot help. */
export class SubprocessorRejectedError extends DomainError {
  constructor(
    readonly subprocessorId: string,
    readonly status: number,
    detail: string,
  ) {
    super(`subprocessor ${subprocessorId} rejected the call with HTTP ${status}: ${detail}`);
  }
}

/** A subprocessor could not be reached or answered 5xx/408/429: transient, retried with backoff. */
export class SubprocessorUnavailableError extends DomainError {
  constructor(
    readonly subprocessorId: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`subprocessor ${subprocessorId} is unavailable: ${detail}`, options);
  }
}

/** A subprocessor id that is not in the registry. */
export class UnknownSubprocessorError extends DomainError {
  constructor(readonly subprocessorId: string) {
    super(`subprocessor ${subprocessorId} is not registered`);
  }
}

/** A lifecycle request that an activity was asked to act on does not exist. */
export class RequestNotFoundError extends DomainError {
  constructor(readonly requestId: string) {
    super(`lifecycle request ${requestId} does not exist`);
  }
}

/** A customer that an activity was asked to act on does not exist. */
export class CustomerNotFoundError extends DomainError {
  constructor(readonly customerId: string) {
    super(`customer ${customerId} does not exist`);
  }
}

/** Another customer already holds this registration number. */
export class DuplicateCustomerError extends DomainError {
  constructor(readonly existingCustomerId: string) {
    super(`a customer with this registration number already exists (${existingCustomerId})`);
  }
}

/**
 * An activity attempt found that a newer attempt of the same work took over (it was paused past its heartbeat timeout
 * and Temporal retried it elsewhere): it stops at once and has written nothing since the takeover (the write that
 * found out was refused in its own transaction). Deliberately not in {@link NON_RETRYABLE_ERROR_TYPES}: Temporal
 * discards a stale attempt's failure anyway, and if it were ever raised by the current attempt, a retry claims the
 * lease afresh. See docs/reliability.md.
 */
export class StaleAttemptError extends DomainError {
  constructor(
    readonly fenceKey: string,
    detail = 'a newer attempt holds the lease',
  ) {
    super(`stale activity attempt on ${fenceKey}: ${detail}`);
  }
}

/** Failure types that activities must not retry. */
export const NON_RETRYABLE_ERROR_TYPES = [
  SubprocessorRejectedError.name,
  UnknownSubprocessorError.name,
  RequestNotFoundError.name,
  CustomerNotFoundError.name,
  DuplicateCustomerError.name,
];
