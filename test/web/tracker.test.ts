import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Job } from '../../src/queue/job-schema.js';
import { startBrowserSession, type BrowserSession } from '../helpers/browser.js';
import { isFinished, trainModel, waitForJob } from '../helpers/jobs.js';
import { loadMnistDigits } from '../helpers/mnist.js';
import { uploadDigits, uploadXor } from '../helpers/uploads.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const DIGITS = 300;
/** Longer than one refresh of the jobs list (2 s), twice over. */
const TWO_REFRESHES_MS = 4500;
/** Long enough at one sample per batch to be caught running and stopped. */
const KEYBOARD_JOB_EPOCHS = 2000;
/** More Tab presses than any page has stops before the control a step looks for. */
const MAX_TABS = 200;
const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** The dashboard as an experiment tracker: runs table, chart tools, evaluation, registry, and access for everyone. */
describe('the dashboard as an experiment tracker', () => {
  let session: BrowserSession;
  let page: Page;
  let xorId = '';
  let digitsId = '';
  const xorJobs: Job[] = [];
  let digitsJob: Job;
  let divergedJob: Job;

  const open = (hash: string) => session.open(hash);
  const post = async (url: string, payload: Record<string, unknown>) => (await session.service.app.inject({ method: 'POST', url, payload })).json();

  before(async () => {
    session = await startBrowserSession({ STEP_REPORT_EVERY: '5' }, DESKTOP);
    page = session.page;
    const { app } = session.service;
    xorId = (await uploadXor(app)).id;
    digitsId = (await uploadDigits(app, loadMnistDigits(DIGITS, 7), 0, DIGITS)).id;
    for (const learningRate of [0.5, 0.05]) {
      xorJobs.push(await trainModel(app, { datasetId: xorId, shape: [2, 8, 2], learningRate, epochs: 30, registerAs: 'xor', validationSplit: 0 }));
    }
    digitsJob = await trainModel(app, { datasetId: digitsId, shape: [784, 32, 10], epochs: 3, validationSplit: 0.2 });
    const diverging = await post('/jobs', { datasetId: digitsId, shape: [784, 64, 10], optimizer: 'sgd', learningRate: 100, epochs: 2, schedule: { kind: 'constant' } });
    divergedJob = await waitForJob(app, diverging.id, isFinished);
    await session.service.app.inject({ method: 'PATCH', url: `/jobs/${xorJobs[0].id}`, payload: { name: 'fast xor', tags: ['baseline'] } });
  });
  after(() => session?.close());

  test('the runs table keeps focus through its refreshes, sorts, filters and remembers its columns', async () => {
    await open('#/jobs');
    const firstLink = page.locator(`tr[data-job="${xorJobs[0].id}"] td[data-label="Run"] a`);
    assert.equal(await firstLink.innerText(), 'fast xor');
    assert.equal(await page.locator(`tr[data-job="${xorJobs[0].id}"] td[data-label="Tags"]`).innerText(), 'baseline');
    await firstLink.focus();
    await page.waitForTimeout(TWO_REFRESHES_MS);
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'fast xor', 'focus stays on the link while the list refreshes');

    const rowIds = () => page.locator('table.runs tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-job')));
    /** The table's first rows once the server's answer to a new order or filter is drawn. */
    const rowsBecome = (ids: string[]) => page.waitForFunction(`[...document.querySelectorAll('table.runs tbody tr')]
      .map((row) => row.getAttribute('data-job')).slice(0, ${ids.length}).join() === ${JSON.stringify(ids.join())}`);

    await page.getByRole('button', { name: 'Learning rate' }).click();
    assert.equal(await page.locator('th[data-column="learningRate"]').getAttribute('aria-sort'), 'descending');
    await rowsBecome([divergedJob.id, xorJobs[0].id]);
    assert.deepEqual((await page.locator('td[data-label="Learning rate"]').allInnerTexts()).slice(0, 2), ['100', '0.5'], 'largest learning rate first');
    await page.getByRole('button', { name: 'Learning rate' }).click();
    assert.equal(await page.locator('th[data-column="learningRate"]').getAttribute('aria-sort'), 'ascending');
    assert.equal((await rowIds()).length, 4);

    await page.getByLabel('Filter runs').fill('state:failed');
    await rowsBecome([divergedJob.id]);
    assert.deepEqual(await rowIds(), [divergedJob.id]);
    assert.equal(await page.locator('.runs-count').innerText(), '1 run matches the filter');
    await page.getByLabel('Filter runs').fill('baseline xor');
    await rowsBecome([xorJobs[0].id]);
    assert.deepEqual(await rowIds(), [xorJobs[0].id]);
    assert.match(await page.evaluate('location.hash'), /^#\/jobs\?sort=learningRate&order=asc&q=baseline\+xor$/, 'the address keeps the order and filter');
    await open('#/jobs?sort=learningRate&order=desc&q=xor');
    await rowsBecome([xorJobs[0].id, xorJobs[1].id]);
    assert.equal((await rowIds()).length, 2);
    assert.equal(await page.locator('th[data-column="learningRate"]').getAttribute('aria-sort'), 'descending');
    assert.equal(await page.getByLabel('Filter runs').inputValue(), 'xor');
    await page.getByLabel('Filter runs').fill('optimizer:nothing');
    await page.getByText('No run matches the filter.').waitFor();
    await page.getByLabel('Filter runs').fill('');
    await page.getByText('4 runs', { exact: true }).waitFor();

    await page.getByText('Columns', { exact: true }).click();
    await page.getByLabel('Activation column').uncheck();
    await page.getByLabel('Seed column').check();
    await open('#/jobs');
    assert.equal(await page.locator('th[data-column="activation"]').count(), 0, 'the column choice is remembered');
    assert.equal(await page.locator('th[data-column="seed"]').count(), 1);
  });

  test('a diverged run draws its steps, and "Clone with the advice applied" fills the form with the suggested rate', async () => {
    assert.equal(divergedJob.state, 'failed', JSON.stringify(divergedJob.error));
    await open(`#/jobs/${divergedJob.id}`);
    await page.locator('h1 .state-failed').waitFor();
    await page.locator('.chart .uplot').first().waitFor();
    assert.equal(await page.getByText('Loss: no points yet').count(), 0);
    await page.getByRole('link', { name: /Clone with the advice applied \(learningRate/ }).click();
    await page.getByRole('heading', { name: 'Training jobs' }).waitFor();
    // A tenth of the diverged 100 would still be 1,000 times sgd's default: the advice is that default.
    assert.equal(await page.getByLabel('Learning rate', { exact: true }).inputValue(), '0.1');
    assert.equal(await page.getByLabel('Shape', { exact: true }).inputValue(), '784, 64, 10');
    assert.equal(await page.getByLabel('Optimizer', { exact: true }).inputValue(), 'sgd');
    await session.screenshot('tracker-clone-advice');
  });

  test('the job page shows every setting, per-class metrics, and a confusion cell\'s misclassified digits', async () => {
    await open(`#/jobs/${digitsJob.id}`);
    for (const setting of ['momentum', 'l2', 'schedule', 'seed', 'init']) await page.locator('#settings-title + div dt', { hasText: new RegExp(`^${setting}$`) }).waitFor();
    const perClass = page.getByRole('table', { name: 'Precision, recall and F1 per class' });
    await perClass.waitFor();
    assert.equal(await perClass.locator('tbody tr').count(), 11, 'ten classes and the macro mean');
    const mistake = page.locator('table.heatmap .cell-button').first();
    const expected = Number(await mistake.innerText());
    await mistake.click();
    await page.locator('[aria-live] .samples canvas').first().waitFor();
    assert.ok(await page.locator('[aria-live] .samples canvas').count() <= expected);
    await session.screenshot('tracker-evaluation');
  });

  test('an XOR model gets its decision surface; its charts smooth, switch scale, show a table and export CSV and PNG', async () => {
    await open(`#/jobs/${xorJobs[0].id}`);
    await page.locator('canvas.surface').waitFor();
    assert.equal(await page.locator('.legend-list li').count(), 2, 'both classes have a region');
    // The surface takes a new colour scheme's class colours without a reload, and gives them back.
    const cornerPixel = `[...document.querySelector('canvas.surface').getContext('2d').getImageData(2, 2, 1, 1).data].join()`;
    const inLight = await page.evaluate(cornerPixel);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(`${cornerPixel} !== '${inLight}'`);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForFunction(`${cornerPixel} === '${inLight}'`);
    const lossChart = page.locator('figure.chart').first();
    assert.equal(await lossChart.getByLabel('Loss: smoothing').inputValue(), '0.6');
    await lossChart.getByText('Log scale').click();
    assert.equal(await lossChart.getByLabel('Log scale').isChecked(), false);
    await lossChart.locator('.uplot').waitFor();
    const legend = () => lossChart.locator('.u-legend .u-series th').allInnerTexts();
    assert.ok((await legend()).some((label) => label.includes('loss per step (raw)')), 'the raw losses are drawn faintly behind the smoothed line');
    await lossChart.getByLabel('Loss: smoothing').fill('0');
    await lossChart.locator('.u-legend').getByText('loss per step (raw)').waitFor({ state: 'detached' });
    assert.ok((await legend()).some((label) => label.includes('loss per step')), 'without smoothing the raw line is the line');
    await lossChart.getByLabel('Loss: smoothing').fill('0.6');
    await lossChart.getByText('Loss: data as a table').click();
    await lossChart.locator('.chart-table tbody tr').first().waitFor();
    assert.ok(await lossChart.locator('.chart-table tbody tr').count() > 5);
    const csv = page.waitForEvent('download');
    await lossChart.getByRole('button', { name: 'Loss: download CSV' }).click();
    assert.equal((await csv).suggestedFilename(), 'loss.csv');
    const png = page.waitForEvent('download');
    await lossChart.getByRole('button', { name: 'Loss: download PNG' }).click();
    assert.equal((await png).suggestedFilename(), 'loss.png');
    await session.screenshot('tracker-xor');
  });

  test('compare lists only the settings that differ', async () => {
    await open(`#/compare?jobs=${xorJobs.map((job) => job.id).join(',')}`);
    const differing = page.getByRole('table', { name: 'Settings that differ' });
    await differing.waitFor();
    assert.deepEqual(await differing.locator('tbody th').allInnerTexts(), ['learningRate']);
  });

  test('the registry page moves an alias to a version', async () => {
    await open('#/registry');
    await page.getByRole('link', { name: 'xor' }).click();
    await page.getByRole('heading', { name: 'xor' }).waitFor();
    await page.getByLabel('Alias', { exact: true }).fill('production');
    await page.locator('select[name=version]').selectOption('1');
    await page.getByRole('button', { name: 'Point the alias here' }).click();
    await page.getByText('production now points at version 1.').waitFor();
    assert.match(await page.locator('tbody tr').last().innerText(), /production/);
  });

  test('uploading content already stored says so and stays on the page', async () => {
    const file = await session.fixture('xor-again.json', JSON.stringify({
      inputs: Array.from({ length: 32 }, () => [[0, 0], [0, 1], [1, 0], [1, 1]]).flat(),
      labels: Array.from({ length: 32 }, () => [0, 1, 1, 0]).flat(),
    }));
    await open('#/datasets');
    await page.getByLabel('One CSV or JSON file', { exact: true }).check();
    await page.getByLabel('CSV or JSON file', { exact: true }).setInputFiles(file);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByText(/This content was already stored as/).waitFor();
    assert.match(page.url(), /#\/datasets$/);
  });

  test('the skip link and every route change put focus on the page\'s content', async () => {
    await open('#/jobs');
    await page.getByRole('heading', { name: 'Training jobs' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to the page');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'page');
    await page.getByRole('link', { name: 'Datasets' }).click();
    await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();
    await page.waitForFunction('document.activeElement?.id === "page"');
  });

  test('on a phone, a sample chosen with the keyboard is predicted and the answer scrolls into view', async () => {
    await page.setViewportSize(PHONE);
    await open(`#/predict?model=${digitsJob.modelId}`);
    await page.getByLabel('Sample number').fill('3');
    await page.getByLabel('Sample number').press('Enter');
    await page.locator('.prediction').waitFor();
    await page.waitForFunction(`(() => { const box = document.querySelector('.prediction').getBoundingClientRect(); return box.top >= 0 && box.bottom <= innerHeight; })()`);
    await session.screenshot('tracker-phone-predict');
    await page.setViewportSize(DESKTOP);
  });

  test('with the keyboard alone: create a job, watch it run, stop it, and compare it with another run', async () => {
    /** Tabs forward until the focused control's label, name or text starts with `name`: proof it is reachable without a mouse. */
    const tabTo = async (name: string) => {
      for (let presses = 0; presses < MAX_TABS; presses++) {
        await page.keyboard.press('Tab');
        const reached = await page.evaluate(`(() => {
          const element = document.activeElement;
          const name = element?.labels?.[0]?.textContent ?? element?.getAttribute('aria-label') ?? element?.textContent ?? '';
          return name.trim().startsWith(${JSON.stringify(name)});
        })()`);
        if (reached) return;
      }
      throw new Error(`${MAX_TABS} presses of Tab never reached "${name}"`);
    };
    await open('#/jobs');
    await page.getByRole('heading', { name: 'Training jobs' }).waitFor();
    await tabTo('Dataset');
    await page.keyboard.type('x');
    await tabTo('Epochs');
    await page.keyboard.type(String(KEYBOARD_JOB_EPOCHS));
    await tabTo('Run name');
    await page.keyboard.type('typed run');
    await tabTo('Advanced');
    await page.keyboard.press('Enter');
    await tabTo('Batch size');
    await page.keyboard.type('1');
    await tabTo('Start training');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/jobs\/job_[0-9a-f]{20}$/);
    await page.locator('h1 .state-running').waitFor({ timeout: 30_000 });
    await page.locator('#epochs-title + div tbody tr').first().waitFor({ timeout: 30_000 });
    await tabTo('Stop and keep model');
    await page.keyboard.press('Enter');
    await page.locator('h1 .state-completed').waitFor({ timeout: 30_000 });
    await page.getByText(/The job was stopped on request/).waitFor();

    await tabTo('Jobs');
    await page.keyboard.press('Enter');
    await page.locator('table.runs tbody tr[data-job]').first().waitFor();
    await tabTo('Compare run typed run');
    await page.keyboard.press('Space');
    await tabTo('Compare run');
    await page.keyboard.press('Space');
    await tabTo('Compare selected');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/compare\?jobs=/);
    await page.locator('.chart .uplot').first().waitFor();
    assert.match(await page.locator('#compare-summary-title + div').innerText(), /typed run/);
  });

  test('dark mode follows the system setting', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await open('#/jobs');
    const background = await page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
    assert.equal(background, 'rgb(18, 22, 28)');
    await session.screenshot('tracker-dark');

    // A drawn chart takes the new scheme's line colours without a reload: the compare view's
    // first line is #0072b2 on light paper and #56b4e9 on dark.
    await page.emulateMedia({ colorScheme: 'light' });
    await open(`#/compare?jobs=${xorJobs.map((job) => job.id).join(',')}`);
    await page.locator('.chart .u-legend').first().waitFor();
    // The first run's smoothed line (its raw copy is the same colour, faint).
    const firstLineColour = `getComputedStyle([...document.querySelector('.chart .u-legend').querySelectorAll('.u-series')]
      .slice(1).find((series) => !series.textContent.includes('(raw)')).querySelector('.u-marker')).borderLeftColor`;
    assert.equal(await page.evaluate(firstLineColour), 'rgb(0, 114, 178)');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(`${firstLineColour} === 'rgb(86, 180, 233)'`);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('axe-core finds no serious or critical violation on any page, at desktop and phone sizes', async () => {
    const pages = ['#/jobs', `#/jobs/${digitsJob.id}`, `#/jobs/${xorJobs[0].id}`, `#/compare?jobs=${xorJobs.map((job) => job.id).join(',')}`,
      '#/datasets', `#/datasets/${digitsId}`, `#/predict?model=${digitsJob.modelId}`, '#/registry', '#/registry/xor'];
    const found: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      for (const hash of pages) {
        await open(hash);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle');
        await page.addScriptTag({ path: AXE_SCRIPT });
        const violations = await page.evaluate<{ id: string; impact: string; nodes: { target: string[] }[] }[]>(
          `axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations.map(({ id, impact, nodes }) => ({ id, impact, nodes: nodes.slice(0, 3).map(({ target }) => ({ target })) })))`);
        for (const violation of violations.filter((candidate) => candidate.impact === 'serious' || candidate.impact === 'critical')) {
          found.push(`${viewport.width}px ${hash}: ${violation.id} (${violation.impact}) at ${violation.nodes.map((node) => node.target.join(' ')).join('; ')}`);
        }
      }
    }
    await page.setViewportSize(DESKTOP);
    assert.deepEqual(found, []);
  });
});
