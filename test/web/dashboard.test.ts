import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserSession, type BrowserSession } from '../helpers/browser.js';
import { loadMnistDigits, toIdx } from '../helpers/mnist.js';

const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
const DIGITS = 1000;
/** Upload speed for the throttled upload, so the progress bar has something to show: 1 MB takes about 2 s. */
const THROTTLED_UPLOAD_BYTES_PER_SECOND = 500_000;
const JOB_TIMEOUT_MS = 60_000;
/** Enough epochs of a 784–128–10 network that the run lasts a few seconds and can be watched live. */
const LIVE_JOB_EPOCHS = 20;
/** Held out by the live job; its confusion matrix is drawn on these samples. */
const VALIDATION_SPLIT = 0.2;
/** A job that would run for minutes, to be cancelled. */
const LONG_JOB_EPOCHS = 300;
/** While steps stream in, the page keeps drawing: a hung main thread draws none. */
const MIN_FRAMES_PER_SECOND = 10;

describe('the web dashboard in a real browser', () => {
  let session: BrowserSession;
  let page: Page;
  const fixtures = { images: '', labels: '', xor: '' };
  let digitsId = '';
  const jobIds: string[] = [];

  const screenshot = (name: string) => session.screenshot(name);
  /** A job of LONG_JOB_EPOCHS started from the jobs page's form; ends on its page. */
  const startLongJobFromForm = async () => {
    await open('#/jobs');
    await page.getByLabel('Dataset', { exact: true }).selectOption(digitsId);
    await page.getByLabel('Epochs', { exact: true }).fill(String(LONG_JOB_EPOCHS));
    await page.getByText('Advanced').click();
    await page.getByLabel('Batch size', { exact: true }).fill('8');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(/#\/jobs\/job_[0-9a-f]{20}$/);
  };
  const open = (hash: string) => session.open(hash);
  /** The page never scrolls sideways: everything fits the viewport's width. */
  const assertNoSidewaysScroll = async () => {
    const [scrollWidth, innerWidth] = await page.evaluate<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]');
    assert.ok(scrollWidth <= innerWidth, `the page is ${scrollWidth}px wide in a ${innerWidth}px viewport`);
  };

  before(async () => {
    session = await startBrowserSession({ STEP_REPORT_EVERY: '5' }, LAPTOP);
    page = session.page;
    const digits = loadMnistDigits(DIGITS, 5);
    const idx = toIdx(digits.pixels, digits.labels, DIGITS);
    fixtures.images = await session.fixture('train-images-idx3-ubyte', idx.images);
    fixtures.labels = await session.fixture('train-labels-idx1-ubyte', idx.labels);
    fixtures.xor = await session.fixture('xor.json', JSON.stringify({ inputs: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0] }));
  });
  after(() => session?.close());

  test('uploading the XOR JSON shows its four samples with their labels', async () => {
    await open('#/datasets');
    await page.getByLabel('One CSV or JSON file', { exact: true }).check();
    await page.getByLabel('CSV or JSON file', { exact: true }).setInputFiles(fixtures.xor);
    await page.getByLabel('Name (optional)', { exact: true }).fill('xor');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/#\/datasets\/ds_[0-9a-f]{20}$/);
    await page.getByRole('heading', { name: 'xor' }).waitFor();
    const rows = await page.locator('table tbody tr').allInnerTexts();
    assert.deepEqual(rows.map((row) => row.split('\t')), [['0', '0, 0', '0'], ['1', '0, 1', '1'], ['2', '1, 0', '1'], ['3', '1, 1', '0']]);
    await screenshot('datasets-xor');
  });

  test('a tabular CSV uploads with its delimiter and label column, and keeps its numbers as they are', async () => {
    const flowers = await session.fixture('flowers.csv', 'length;width;species\n-0.5;2.25;1\n1.5;3;0\n');
    await open('#/datasets');
    await page.getByLabel('One CSV or JSON file', { exact: true }).check();
    await page.getByLabel('CSV or JSON file', { exact: true }).setInputFiles(flowers);
    await page.getByLabel('CSV label column', { exact: true }).fill('species');
    await page.getByLabel('CSV delimiter', { exact: true }).selectOption(';');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/#\/datasets\/ds_[0-9a-f]{20}$/);
    await page.getByRole('heading', { name: 'flowers.csv' }).waitFor();
    const rows = await page.locator('table tbody tr').allInnerTexts();
    assert.deepEqual(rows.map((row) => row.split('\t')), [['0', '-0.5, 2.25', '1'], ['1', '1.5, 3', '0']]);
  });

  test('uploading an IDX pair shows progress, then a grid of labelled digits', async () => {
    await open('#/datasets');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: THROTTLED_UPLOAD_BYTES_PER_SECOND });
    await page.getByLabel('Images', { exact: true }).setInputFiles(fixtures.images);
    await page.getByLabel('Labels', { exact: true }).setInputFiles(fixtures.labels);
    await page.getByLabel('Name (optional)', { exact: true }).fill('digits-1000');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByText(/^Uploading: \d+(\.\d)?% \(/).waitFor();
    await screenshot('datasets-upload-progress');
    await page.waitForURL(/#\/datasets\/ds_[0-9a-f]{20}$/, { timeout: 20_000 });
    digitsId = page.url().split('/').at(-1) ?? '';
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();

    await page.getByRole('heading', { name: 'digits-1000' }).waitFor();
    await page.getByRole('heading', { name: `Samples 1–30 of ${DIGITS.toLocaleString('en-US')}` }).waitFor();
    const digits = loadMnistDigits(DIGITS, 5);
    const captions = await page.locator('.samples figcaption').allTextContents();
    assert.deepEqual(captions, Array.from({ length: 30 }, (_, i) => `#${i}: ${digits.labels[i]}`));
    const inkedPixels = await page.evaluate<number>(`(() => {
      const canvas = document.querySelector('.samples canvas');
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      return data.filter((value, i) => i % 4 === 0 && value > 0).length;
    })()`);
    assert.ok(inkedPixels > 50, `the first digit has ${inkedPixels} lit pixels`);
    await screenshot('datasets-digits');
  });

  test('a job the API refuses shows its message and marks the field', async () => {
    await open('#/jobs');
    await page.getByLabel('Dataset', { exact: true }).selectOption(digitsId);
    await page.getByLabel('Shape', { exact: true }).fill('784, 32, 7');
    await page.getByRole('button', { name: 'Start training' }).click();
    const message = page.locator('.notice-error');
    await message.waitFor();
    assert.match(await message.innerText(), /shape/i);
    assert.equal(await page.getByLabel('Shape', { exact: true }).getAttribute('aria-invalid'), 'true');
    await screenshot('jobs-form-error');
  });

  test('a job started from the form streams its curves while it runs, then shows its confusion matrix', async () => {
    await open('#/jobs');
    await page.getByLabel('Dataset', { exact: true }).selectOption(digitsId);
    assert.equal(await page.getByLabel('Shape', { exact: true }).inputValue(), '784, 128, 10', 'the shape is suggested from the dataset');
    await page.getByLabel('Learning rate', { exact: true }).fill('0.1');
    await page.getByLabel('Epochs', { exact: true }).fill(String(LIVE_JOB_EPOCHS));
    await page.getByText('Advanced').click();
    await page.getByLabel('Validation split', { exact: true }).fill(String(VALIDATION_SPLIT));
    await page.getByLabel('Batch size', { exact: true }).fill('16');
    const jobReads: string[] = [];
    const countJobReads = (request: { url(): string }) => {
      if (/\/jobs\/job_[0-9a-f]{20}$/.test(request.url())) jobReads.push(request.url());
    };
    page.on('request', countJobReads);
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(/#\/jobs\/job_[0-9a-f]{20}$/);
    jobIds.push(page.url().split('/').at(-1) ?? '');

    // Live: epochs appear in the table and the loss chart while the badge still says running.
    await page.waitForFunction(`document.querySelector('h1 .state-running') && document.querySelectorAll('#epochs-title + div tbody tr').length >= 2`, null, { timeout: JOB_TIMEOUT_MS });
    await page.locator('.chart .uplot').first().waitFor();
    const frames = await page.evaluate<number>(`new Promise((resolve) => {
      let frames = 0;
      const start = performance.now();
      const tick = () => (performance.now() - start < 1000 ? (frames++, requestAnimationFrame(tick)) : resolve(frames));
      requestAnimationFrame(tick);
    })`);
    assert.ok(frames >= MIN_FRAMES_PER_SECOND, `the page drew ${frames} frames in the second it was streaming steps`);
    await screenshot('job-running');

    await page.locator('h1 .state-completed').waitFor({ timeout: JOB_TIMEOUT_MS });
    assert.equal(await page.locator('#epochs-title + div tbody tr').count(), LIVE_JOB_EPOCHS);
    assert.equal(await page.locator('.chart .uplot').count(), 2, 'a loss chart and an accuracy chart');
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).isVisible(), false, 'a finished job cannot be cancelled');
    await page.locator('table.heatmap').waitFor();
    page.off('request', countJobReads);
    assert.equal(jobReads.length, 2, `the job is read when the page opens and when it ends, not after each epoch: ${jobReads.length} reads`);
    const cells = (await page.locator('table.heatmap td').allInnerTexts()).map(Number);
    assert.equal(cells.length, 100, 'ten classes by ten');
    assert.equal(cells.reduce((sum, count) => sum + count, 0), DIGITS * VALIDATION_SPLIT, 'every held-out sample is counted once');
    const evaluation = await page.getByText(/^On the 20\.0% of the dataset held out for validation: accuracy \d+\.\d%/).innerText();
    const accuracy = Number(evaluation.match(/accuracy (\d+\.\d)%/)?.[1]);
    assert.ok(accuracy > 75, `held-out accuracy ${accuracy}%`);
    await page.getByText(/The training loss went from [\d.]+ after epoch 1 to [\d.]+ after epoch \d+/).waitFor();
    await screenshot('job-completed');
  });

  test('a second job with a tiny learning rate can be followed, then compared with the first', async () => {
    await open('#/jobs');
    await page.getByLabel('Dataset', { exact: true }).selectOption(digitsId);
    await page.getByLabel('Shape', { exact: true }).fill('784, 32, 10');
    await page.getByLabel('Learning rate', { exact: true }).fill('0.0001');
    await page.getByLabel('Optimizer', { exact: true }).selectOption('sgd');
    await page.getByLabel('Epochs', { exact: true }).fill('3');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(/#\/jobs\/job_[0-9a-f]{20}$/);
    jobIds.push(page.url().split('/').at(-1) ?? '');
    await page.locator('h1 .state-completed').waitFor({ timeout: JOB_TIMEOUT_MS });
    await page.getByText(/learningRate 0.0001 \(sgd\) is too small/).waitFor();
    await page.getByText(/raise learningRate to 0.1/).waitFor();
    await screenshot('job-not-learning');

    const listReads: string[] = [];
    const countListReads = (request: { url(): string }) => {
      if (/\/jobs\/job_/.test(request.url())) listReads.push(request.url());
    };
    page.on('request', countListReads);
    await open('#/jobs');
    const best = page.locator(`tr[data-job="${jobIds[0]}"] td[data-label="Model accuracy"]`);
    await best.filter({ hasText: /^\d+\.\d% \((validation|training)\)$/ }).waitFor();
    assert.match(await page.locator(`tr[data-job="${jobIds[1]}"] td[data-label="Model accuracy"]`).innerText(), /^\d+\.\d% \(validation\)$/);
    page.off('request', countListReads);
    assert.deepEqual(listReads, [], 'the list shows each best accuracy from GET /jobs alone');
    for (const id of jobIds) await page.locator(`tr[data-job="${id}"] input[type=checkbox]`).check();
    await page.getByRole('button', { name: 'Compare selected' }).click();
    await page.waitForURL(/#\/compare\?jobs=/);
    assert.deepEqual(new URL(page.url()).hash.split('jobs=')[1].split(','), jobIds);
    await page.locator('.chart .uplot').nth(1).waitFor();
    const runs = await page.locator('#compare-summary-title + div tbody tr').allInnerTexts();
    assert.equal(runs.length, 2);
    assert.match(runs[0], /lr 0\.1 · momentum · 784–128–10/);
    assert.match(runs[1], /lr 0\.0001 · sgd · 784–32–10/);
    const legends = await page.locator('.u-legend .u-series th').allInnerTexts();
    for (const id of jobIds) assert.ok(legends.some((label) => label.includes(id.slice(0, 10))), `${id} is in a chart legend`);
    await screenshot('compare');
  });

  test('a stroke drawn on the canvas is centred like MNIST and gets a prediction with ten probabilities', async () => {
    await open(`#/jobs/${jobIds[0]}`);
    await page.getByRole('link', { name: 'draw a digit for it' }).click();
    await page.waitForURL(/#\/predict\?model=mdl_[0-9a-f]{20}$/);
    const modelId = new URL(page.url()).hash.split('model=')[1];
    assert.equal(await page.getByLabel('Model', { exact: true }).inputValue(), modelId, 'the model of the well-trained job is chosen');
    const box = await page.locator('canvas.draw-canvas').boundingBox();
    assert.ok(box);
    // A "1": one stroke down the left half of the box, so centring has work to do.
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let t = 1; t <= 10; t++) await page.mouse.move(box.x + box.width * (0.3 - 0.02 * t / 10), box.y + box.height * (0.15 + 0.7 * t / 10));
    await page.mouse.up();

    const prediction = page.locator('.prediction');
    await prediction.waitFor();
    const probabilities = (await page.locator('.bar-value').allInnerTexts()).map((text) => Number.parseFloat(text));
    assert.equal(probabilities.length, 10);
    assert.ok(Math.abs(probabilities.reduce((sum, p) => sum + p, 0) - 100) < 1, `probabilities add up to 100%: ${probabilities.join(', ')}`);
    const label = Number((await prediction.innerText()).match(/\d/)?.[0]);
    assert.equal(Math.max(...probabilities), probabilities[label], 'the predicted digit has the largest bar');
    assert.equal(label, 1, 'a vertical stroke reads as a 1');
    const previewCentre = await page.evaluate<[number, number]>(`(() => {
      const { data } = document.querySelector('canvas.preview').getContext('2d').getImageData(0, 0, 28, 28);
      let mass = 0, x = 0, y = 0;
      for (let i = 0; i < 784; i++) { const v = data[i * 4]; mass += v; x += v * (i % 28 + 0.5); y += v * (Math.floor(i / 28) + 0.5); }
      return [x / mass, y / mass];
    })()`);
    for (const coordinate of previewCentre) assert.ok(Math.abs(coordinate - 14) <= 1, `the preview's centre of mass is at ${previewCentre.join(', ')}`);
    await screenshot('predict');
  });

  test('a running job is cancelled from its page and ends cancelled', async () => {
    await startLongJobFromForm();
    await page.locator('#epochs-title + div tbody tr').first().waitFor({ timeout: JOB_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.locator('h1 .state-cancelled').waitFor({ timeout: JOB_TIMEOUT_MS });
    await page.getByText('The job was cancelled, so it made no model; Resume continues it from its last checkpoint.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).isVisible(), false);
    const epochsDone = await page.locator('#epochs-title + div tbody tr').count();
    assert.ok(epochsDone >= 1 && epochsDone < LONG_JOB_EPOCHS, `${epochsDone} epochs ran before the cancel`);
    assert.equal(await page.getByRole('button', { name: 'Resume' }).isVisible(), true, 'a cancelled job offers to resume');
    await screenshot('job-cancelled');
  });

  test('a running job is stopped keeping its model, resumed for two more epochs, and its model trains on in a new job', async () => {
    await startLongJobFromForm();
    const stoppedJobUrl = page.url();
    await page.locator('#epochs-title + div tbody tr').first().waitFor({ timeout: JOB_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Stop and keep model' }).click();
    await page.locator('h1 .state-completed').waitFor({ timeout: JOB_TIMEOUT_MS });
    await page.getByText(/The job was stopped on request; the model trained so far was kept/).waitFor();
    await page.getByText('draw a digit for it').waitFor();
    const epochsDone = await page.locator('#epochs-title + div tbody tr').count();
    await screenshot('job-stopped');
    const onnx = await page.getByRole('link', { name: 'ONNX' }).getAttribute('href');
    const exported = await page.request.get(new URL(onnx!, page.url()).href);
    assert.equal(exported.status(), 200, 'the model downloads as ONNX from its job page');
    assert.equal(exported.headers()['content-type'], 'application/octet-stream');

    await page.getByLabel('Epochs in all').fill(String(epochsDone + 2));
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByText('The job ran all its epochs.').waitFor({ timeout: JOB_TIMEOUT_MS });
    assert.equal(await page.locator('#epochs-title + div tbody tr').count(), epochsDone + 2, 'the resumed run adds its epochs to the same history');

    await page.getByLabel('Epochs for the new job').fill('1');
    await page.getByRole('button', { name: 'Train on from this model' }).click();
    await page.waitForURL((url) => /#\/jobs\/job_[0-9a-f]{20}$/.test(url.href) && url.href !== stoppedJobUrl);
    await page.locator('h1 .state-completed').waitFor({ timeout: JOB_TIMEOUT_MS });
    await screenshot('job-warm-started');
  });

  test('the form takes a validation dataset, a step schedule, rotations and early stopping off, and counts the parameters', async () => {
    await open('#/jobs');
    await page.getByLabel('Dataset', { exact: true }).selectOption(digitsId);
    await page.getByLabel('Shape', { exact: true }).fill('784, 128, 10');
    await page.getByText('101,770 parameters').waitFor();
    await page.getByLabel('Epochs', { exact: true }).fill(String(LONG_JOB_EPOCHS));
    await page.getByText('Advanced').click();
    await page.getByLabel('Validation dataset', { exact: true }).selectOption(digitsId);
    await page.getByLabel('Schedule', { exact: true }).selectOption('step');
    await page.getByLabel('Step every', { exact: true }).fill('3');
    await page.getByLabel('Early stopping patience', { exact: true }).fill('0');
    await page.getByLabel('Augment: rotate up to', { exact: true }).fill('5');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(/#\/jobs\/job_[0-9a-f]{20}$/);
    const id = page.url().split('/').at(-1)!;
    const job = (await session.service.app.inject({ method: 'GET', url: `/jobs/${id}?history=none` })).json();
    assert.equal(job.validationDatasetId, digitsId);
    assert.deepEqual(job.config.schedule, { kind: 'step', everyEpochs: 3, gamma: 0.5 });
    assert.equal(job.config.earlyStopping, null);
    assert.deepEqual(job.config.augment, { maxShift: 0, maxRotationDegrees: 5 });
    await session.service.app.inject({ method: 'DELETE', url: `/jobs/${id}` });
  });

  test('on a phone-sized screen every page fits the width', async () => {
    await page.setViewportSize(PHONE);
    for (const [name, hash] of [['jobs', '#/jobs'], ['job', `#/jobs/${jobIds[0]}`], ['compare', `#/compare?jobs=${jobIds.join(',')}`], ['datasets', `#/datasets/${digitsId}`], ['predict', '#/predict']]) {
      await open(hash);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      await assertNoSidewaysScroll();
      await screenshot(`phone-${name}`);
    }
    await page.setViewportSize(LAPTOP);
  });

  test('an API error is shown as a message, not a blank page', async () => {
    await open(`#/jobs/job_${'0'.repeat(20)}`);
    const message = page.locator('.notice-error');
    await message.waitFor();
    assert.match(await message.innerText(), /No job has the id job_0{20}/);
    await screenshot('error-unknown-job');
  });
});
