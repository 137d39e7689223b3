import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startBrowserSession } from '../test/helpers/browser.js';
import { trainModel } from '../test/helpers/jobs.js';
import { uploadDigits } from '../test/helpers/uploads.js';
import { loadMnistDigits } from './mnist-digits.js';

/**
 * `npm run screenshots`: the README's pictures of the dashboard, made the way the browser tests
 * run it (an app on its own Redis prefix, a worker, Debian's Chromium), so they show this build.
 * Two runs on real digits that differ in learning rate and width, then the runs table, one job's
 * page and the comparison, at 1280×800.
 */
const OUTPUT_DIR = join(process.cwd(), 'docs', 'screenshots');
const DIGITS = 2000;
const SEED = 11;
const VIEWPORT = { width: 1280, height: 800 };

const session = await startBrowserSession({}, VIEWPORT);
try {
  await mkdir(OUTPUT_DIR, { recursive: true });
  const { app } = session.service;
  const { id: datasetId } = await uploadDigits(app, loadMnistDigits(DIGITS, SEED), 0, DIGITS);
  const runs = [
    { name: 'wide, momentum 0.1', tags: ['baseline'], body: { shape: [784, 128, 10], learningRate: 0.1 } },
    { name: 'narrow, adam', tags: ['small'], body: { shape: [784, 32, 10], optimizer: 'adam', learningRate: 0.001 } },
  ];
  const ids: string[] = [];
  for (const run of runs) {
    const job = await trainModel(app, { datasetId, epochs: 8, validationSplit: 0.2, ...run.body });
    await app.inject({ method: 'PATCH', url: `/jobs/${job.id}`, payload: { name: run.name, tags: run.tags } });
    ids.push(job.id);
  }
  const { page } = session;
  const shoot = async (hash: string, ready: string, name: string) => {
    await session.open(hash);
    await page.locator(ready).first().waitFor();
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`) });
  };
  await shoot('#/jobs', 'table.runs tbody tr[data-job]', 'runs-table');
  await session.open(`#/jobs/${ids[0]}`);
  await page.locator('#curves-title').waitFor();
  await page.locator('#curves-title').scrollIntoViewIfNeeded();
  await page.locator('.chart .uplot').nth(1).waitFor();
  await page.evaluate(`document.getElementById('curves-title').scrollIntoView()`);
  await page.screenshot({ path: join(OUTPUT_DIR, 'job-curves.png') });
  await shoot(`#/compare?jobs=${ids.join(',')}`, '.chart .uplot', 'compare');
  console.log(`wrote runs-table.png, job-curves.png and compare.png to ${OUTPUT_DIR}`);
} finally {
  await session.close();
}
