import { describe, expect, it } from 'vitest';
import { ERROR_CLASSES, UnknownHandler, StateTooLarge, OwnershipLost } from '@highlander/runtime';
import { RUNTIME_ERROR_STATUS, describeError } from '../../admin-api/src/http-error.js';

/** The admin API answers a runtime error with the status its class carries: one list, the same as the node's own endpoints. */
describe('runtime errors through the admin API', () => {
  it('every runtime error class answers with its own status and code, a 500 only for the ones that are', () => {
    for (const errorClass of ERROR_CLASSES) {
      const error = errorClass.revive({}, `a ${errorClass.code}`);
      const described = describeError(error);
      expect(described, errorClass.code).toMatchObject({ status: errorClass.httpStatus, code: errorClass.code });
      expect(described.internal, errorClass.code).toBe(errorClass.httpStatus === 500);
      expect(RUNTIME_ERROR_STATUS[errorClass.code]).toBe(errorClass.httpStatus);
    }
  });

  it('no longer turns the errors the two tables disagreed on into 500s', () => {
    expect(describeError(new UnknownHandler('todo', 'nope', ['rename'])).status).toBe(404);
    expect(describeError(new StateTooLarge('todo', 't', 2_000_000, 1_048_576)).status).toBe(413);
    expect(describeError(new OwnershipLost('todo', 't', 'fenced')).status).toBe(503);
  });
});
