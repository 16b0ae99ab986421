import { describe, expect, it } from 'vitest';
import { CallTimeout, ERROR_CLASSES, HandlerFailed, ObjectRejected, StoreUnavailable, callOutcomeKind, failureKind } from '@highlander/runtime';

describe('call outcome kinds', () => {
  it('count only declared rejections as rejected, every other error code as an error', () => {
    expect(callOutcomeKind('ok')).toBe('ok');
    const kinds = Object.fromEntries(ERROR_CLASSES.map((c) => [c.code, callOutcomeKind(c.code)]));
    expect(Object.entries(kinds).filter(([, kind]) => kind !== 'error')).toEqual([['OBJECT_REJECTED', 'rejected']]);
    // Codes the metrics may carry that are not runtime classes (a foreign error, a newer peer's code).
    expect(callOutcomeKind('INTERNAL')).toBe('error');
    expect(callOutcomeKind('SOME_FUTURE_CODE')).toBe('error');
  });

  it('tell a thrown declared error from any other failure', () => {
    expect(failureKind(new ObjectRejected('list', 'l1', 'notAllowed', 'not allowed', { userId: 'eve' }))).toBe('rejected');
    expect(failureKind(new HandlerFailed('list', 'l1', 'insertTodo', 'boom'))).toBe('error');
    expect(failureKind(new CallTimeout('list', 'l1', 'insertTodo', 10))).toBe('error');
    expect(failureKind(new StoreUnavailable('write', 'objects/list/l1.json', new Error('down')))).toBe('error');
    expect(failureKind(new Error('not a Highlander error'))).toBe('error');
    expect(failureKind('a string')).toBe('error');
  });
});
