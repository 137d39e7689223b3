import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page, Request } from 'playwright-core';
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

  test('the list does not refresh while the page is hidden, and spaces out refreshes the server is slow to answer', async () => {
    const { page } = session;
    await session.open('#/jobs');
    await page.getByText(`${RUNS} runs, 50 loaded`).waitFor();
    const listReads: number[] = [];
    const countListReads = (request: Request) => {
      if (/\/jobs\?/.test(request.url())) listReads.push(performance.now());
    };
    page.on('request', countListReads);
    try {
      await setHidden(page, true);
      // A refresh already under way may still be sent; none after it.
      await sleep(3000);
      listReads.length = 0;
      await sleep(5000);
      assert.deepEqual(listReads, [], 'the hidden page asked for the list');
      const shownAt = performance.now();
      await setHidden(page, false);
      while (listReads.length === 0 && performance.now() - shownAt < 1500) await sleep(50);
      assert.equal(listReads.length, 1, 'the list was not asked for within 1.5 s of the page being shown');

      // Answers that take 0.8 s space refreshes 8 s apart rather than 2.8 s.
      await page.route(/\/jobs\?/, async (route) => {
        await sleep(800);
        await route.continue();
      });
      await sleep(8000);
      listReads.length = 0;
      await sleep(10_000);
      assert.ok(listReads.length >= 1 && listReads.length <= 2, `${listReads.length} slow list reads in 10 s`);
    } finally {
      page.off('request', countListReads);
      await page.unroute(/\/jobs\?/);
      await setHidden(page, false);
    }
  });
});

/** Makes the page report itself hidden or shown, as when its tab is switched, and says so to its listeners. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  // A string, as this file is compiled without the DOM's types.
  await page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
    document.dispatchEvent(new Event('visibilitychange'))`);
}
