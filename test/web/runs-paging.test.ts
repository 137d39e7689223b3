import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBrowserSession, type BrowserSession } from '../helpers/browser.js';
import { uploadXor } from '../helpers/uploads.js';

/** More runs than two of the table's pages of 50, so "Load more" is needed twice. */
const RUNS = 110;
const PHONE = { width: 390, height: 844 };

/** The learning rate of run i: every value differs, and creation order is not rate order. */
const rateOf = (i: number) => Number((0.001 * (1 + ((i * 37) % RUNS))).toPrecision(3));

describe('the runs table pages through runs the server sorted and filtered', () => {
  let session: BrowserSession;

  before(async () => {
    session = await startBrowserSession({}, PHONE);
    const { app } = session.service;
    const dataset = await uploadXor(app);
    for (let i = 0; i < RUNS; i++) {
      const response = await app.inject({
        method: 'POST', url: '/jobs',
        payload: { datasetId: dataset.id, shape: [2, 4, 2], learningRate: rateOf(i), optimizer: i % 2 === 0 ? 'sgd' : 'adam' },
      });
      assert.equal(response.statusCode, 202, response.body);
    }
  });
  after(() => session?.close());

  test('sorted by learning rate, each page loaded continues the order, on a phone', async () => {
    const { page } = session;
    await session.open('#/jobs?sort=learningRate&order=asc');
    const count = page.locator('.runs-count');
    await page.getByText(`${RUNS} runs, 50 loaded`).waitFor();
    const more = page.getByRole('button', { name: 'Load 50 more runs' });
    await more.click();
    await page.getByText(`${RUNS} runs, 100 loaded`).waitFor();
    await more.click();
    await page.waitForFunction(`document.querySelectorAll('table.runs tbody tr').length === ${RUNS}`);
    assert.equal(await count.innerText(), `${RUNS} runs`);
    assert.equal(await more.isHidden(), true, 'no more pages');
    const shown = (await page.locator('td[data-label="Learning rate"]').allInnerTexts()).map(Number);
    const expected = Array.from({ length: RUNS }, (_, i) => rateOf(i)).sort((a, b) => a - b);
    assert.deepEqual(shown, expected);
  });

  test('a filter counts every matching run, not only the loaded ones', async () => {
    const { page } = session;
    await session.open('#/jobs');
    await page.getByLabel('Filter runs').fill('optimizer:adam');
    await page.getByText(`${RUNS / 2} runs match the filter, 50 loaded`).waitFor();
    const optimizers = await page.locator('td[data-label="Optimizer"]').allInnerTexts();
    assert.equal(optimizers.length, 50);
    assert.ok(optimizers.every((optimizer) => optimizer === 'adam'));
  });
});
