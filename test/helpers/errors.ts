import assert from 'node:assert/strict';
import { test } from 'node:test';
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

/** One bad body and the 4xx answer it must get: our error code, and a message naming what to change. */
export interface BadRequestCase {
  name: string;
  body: () => Record<string, unknown>;
  code: string;
  message: RegExp;
}

/** A test per case: `send` posts the body, and the answer is a 400 in our error shape. */
export function testBadRequests(cases: BadRequestCase[], send: (body: Record<string, unknown>) => Promise<LightResponse>): void {
  for (const { name, body, code, message } of cases) {
    test(name, async () => {
      const response = await send(body());
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().error.code, code);
      assert.match(response.json().error.message, message);
    });
  }
}

interface LightResponse {
  statusCode: number;
  body: string;
  json(): { error: { code: string; message: string } };
}
