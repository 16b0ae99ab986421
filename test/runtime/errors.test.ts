import { describe, expect, it } from 'vitest';
import {
  CallTimeout, HighlanderError, ObjectRejected, OwnershipLost, StateTooLarge, UnknownHandler, deserializeError,
} from '@highlander/runtime';

describe('errors across node boundaries', () => {
  it.each([
    new StateTooLarge('todo', 'a', 2000, 1000),
    new UnknownHandler('todo', 'nope', ['rename']),
    new CallTimeout('todo', 'a', 'rename', 50),
    new OwnershipLost('todo', 'a', 'fenced'),
    new ObjectRejected('list', 'l', 'notAllowed', 'user x is not allowed', { message: 'm', userId: 'x' }),
  ])('$code comes back as the same class with its message, fields and retryability', (original: HighlanderError) => {
    const copy = deserializeError(JSON.parse(JSON.stringify(original.serialize())));
    expect(copy).toBeInstanceOf(original.constructor);
    expect(copy.message).toBe(original.message);
    expect(copy.code).toBe(original.code);
    expect(copy.retryable).toBe(original.retryable);
    expect(copy.details()).toEqual(original.details());
  });

  it('an unknown code stays a HighlanderError with its message', () => {
    const copy = deserializeError({ code: 'FUTURE_THING', message: 'something new' });
    expect(copy).toBeInstanceOf(HighlanderError);
    expect(copy.message).toBe('something new');
  });
});
