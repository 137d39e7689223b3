import assert from 'node:assert/strict';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServices } from '../../src/api/services.js';
import { buildApp } from '../../src/app.js';
import { isolatedConfig, removeIsolatedState } from '../helpers/service.js';

test('at start-up the API removes the upload temp files and half-written blobs a crashed process left', async () => {
  const config = await isolatedConfig();
  const dayAgo = new Date(Date.now() - 24 * 60 * 60_000);
  const leftovers = ['uploads/0b5c1e9e-upload', 'datasets/ds_aa.mlpd.1234.tmp'];
  for (const file of leftovers) {
    await mkdir(join(config.DATA_DIR, file, '..'), { recursive: true });
    await writeFile(join(config.DATA_DIR, file), 'half');
    await utimes(join(config.DATA_DIR, file), dayAgo, dayAgo);
  }
  await writeFile(join(config.DATA_DIR, 'uploads', 'in-progress'), 'fresh');
  const app = await buildApp(config, createServices(config));
  try {
    await app.ready();
    assert.deepEqual(await readdir(join(config.DATA_DIR, 'uploads')), ['in-progress'], 'a fresh file may be another process still writing');
    assert.deepEqual(await readdir(join(config.DATA_DIR, 'datasets')), []);
  } finally {
    await app.close();
    await removeIsolatedState(config);
  }
});
