/**
 * Faults raised by the store. Expected misses are `undefined`, never errors; these are
 * conditions a caller cannot recover from by retrying the same call (wrong mode, a data
 * dir from another version of the code, a bad argument).
 */

export type StoreErrorCode =
  /** A write was attempted through a store opened with `readOnly: true`. */
  | 'STORE_READ_ONLY'
  /** The data dir was written by a newer version of the code; refusing to misread it. */
  | 'STORE_SCHEMA_TOO_NEW'
  /** A read-only opener found an old schema: only a writer may migrate it. */
  | 'STORE_NEEDS_MIGRATION'
  /** A read-only opener found no initialised store (no writer has opened it yet). */
  | 'STORE_NOT_INITIALISED'
  /** The store was used after `close()`. */
  | 'STORE_CLOSED'
  /** A caller passed a value the store cannot persist (bad TTL, empty vector, ...). */
  | 'STORE_BAD_ARGUMENT';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function readOnlyError(operation: string): StoreError {
  return new StoreError(
    'STORE_READ_ONLY',
    `store: ${operation} is a write, but this store was opened read-only (writes go through the owning process)`,
  );
}

export function badArgument(message: string): StoreError {
  return new StoreError('STORE_BAD_ARGUMENT', `store: ${message}`);
}
