import assert from 'node:assert/strict';
import { AppError } from '../../src/errors.js';

/** For assert.throws/rejects: the error is an AppError with this code and a message matching the pattern. */
export function appError(code: string, pattern: RegExp) {
  return (error: unknown): true => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}
