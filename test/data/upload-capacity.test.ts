import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UploadCapacity, UPLOAD_RETRY_AFTER_SECONDS } from '../../src/data/upload-capacity.js';
import { appError } from '../helpers/errors.js';

test('uploads beyond the concurrent cap are 503 with a time to retry, until one is released', () => {
  const capacity = new UploadCapacity({ maxConcurrent: 2, maxUploadBytes: 100, maxTotalBytes: 1000 });
  const first = capacity.admit();
  capacity.admit();
  assert.throws(() => capacity.admit(), (error: unknown) => {
    appError('SERVER_BUSY', /2 uploads are already being received or parsed; retry in 5 s/)(error);
    assert.deepEqual((error as { details: unknown }).details, { retryAfterSeconds: UPLOAD_RETRY_AFTER_SECONDS });
    return true;
  });
  first.release();
  assert.doesNotThrow(() => capacity.admit());
});

test('one upload over its own budget is 413; uploads that together fill the pool make the next wait', () => {
  const capacity = new UploadCapacity({ maxConcurrent: 3, maxUploadBytes: 100, maxTotalBytes: 150 });
  const first = capacity.admit();
  assert.throws(() => first.reserve(101, 'the images'), appError('UPLOAD_MEMORY_LIMIT', /the images would take this upload to 1 MiB/));
  first.reserve(80, 'the images');
  const second = capacity.admit();
  assert.throws(() => second.reserve(80, 'the labels'), appError('SERVER_BUSY', /hold the memory this one needs for the labels/));
  first.free(40);
  second.reserve(80, 'the labels');
  first.release();
  second.release();
  const third = capacity.admit();
  third.reserve(100, 'everything');
});
