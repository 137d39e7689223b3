import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserSession, type BrowserSession } from '../helpers/browser.js';
import { loadMnistDigits } from '../helpers/mnist.js';
import { uploadDigits } from '../helpers/uploads.js';

const LAPTOP = { width: 1366, height: 900 };
const TRIALS = 6;
const SWEEP_TIMEOUT_MS = 90_000;

let session: BrowserSession;
let page: Page;

before(async () => {
  session = await startBrowserSession({ WORKER_CONCURRENCY: '2', TRAINING_THREADS: '1' }, LAPTOP);
  page = session.page;
});
after(() => session?.close());

test('a sweep\'s page shows the leaderboard, best first, and a scatter of accuracy against each parameter', async () => {
  const { app } = session.service;
  const dataset = await uploadDigits(app, loadMnistDigits(3000, 8), 0, 3000);
  const created = await app.inject({
    method: 'POST',
    url: '/sweeps',
    payload: {
      datasetId: dataset.id,
      base: { shape: [784, 64, 10], epochs: 6, earlyStopping: null, augment: null },
      space: { learningRate: { min: 0.001, max: 0.5, log: true }, optimizer: { choices: ['sgd', 'momentum'] } },
      trials: TRIALS,
      maxConcurrent: 2,
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  const { id } = created.json();

  await session.open('#/sweeps');
  await page.getByRole('link', { name: id.slice(0, 10) }).click();
  await page.getByText(/^completed · random search · scheduler asha/).waitFor({ timeout: SWEEP_TIMEOUT_MS });
  const rows = await page.locator('table tbody tr').all();
  assert.equal(rows.length, TRIALS);
  const accuracies = await page.locator('table tbody td[data-label="valAccuracy"]').allInnerTexts();
  const values = accuracies.map((text) => Number.parseFloat(text));
  assert.deepEqual(values, [...values].sort((a, b) => b - a), `best first: ${accuracies.join(', ')}`);
  assert.equal(await page.getByRole('img', { name: 'valAccuracy against learningRate' }).locator('circle').count(), TRIALS);
  assert.equal(await page.getByRole('img', { name: 'valAccuracy against optimizer' }).locator('circle').count(), TRIALS);
  assert.ok((await page.locator('circle.hollow').count()) >= 2, 'pruned trials are drawn hollow');
  await session.screenshot('sweep-leaderboard');
});
