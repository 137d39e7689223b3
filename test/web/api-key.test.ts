import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserSession, type BrowserSession } from '../helpers/browser.js';

const API_KEY = 'dashboard-test-key-0123456789';
const JOB_TIMEOUT_MS = 30_000;
/** XOR repeated, so that with one sample per batch and no early stop a job runs until it is cancelled. */
const XOR_REPEATS = 1000;
const LONG_JOB_EPOCHS = 500;

describe('the dashboard of a service with API_KEY set', () => {
  let session: BrowserSession;
  let page: Page;
  let xorFile = '';

  before(async () => {
    session = await startBrowserSession({ API_KEY }, { width: 1280, height: 720 });
    page = session.page;
    const repeated = <T>(items: T[]): T[] => Array.from({ length: XOR_REPEATS }, () => items).flat();
    xorFile = await session.fixture('xor.json', JSON.stringify({ inputs: repeated([[0, 0], [0, 1], [1, 0], [1, 1]]), labels: repeated([0, 1, 1, 0]) }));
  });
  after(() => session?.close());

  test('the page asks for the key, says when one is refused, and loads with the right one', async () => {
    await session.open('#/jobs');
    await page.getByRole('heading', { name: 'API key needed' }).waitFor();
    await session.screenshot('api-key-asked');
    await page.getByLabel('API key', { exact: true }).fill('not-the-key');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('The service refused the API key this tab was using').waitFor();
    await page.getByLabel('API key', { exact: true }).fill(API_KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Training jobs' }).waitFor();
    assert.equal(await page.evaluate<string | null>('sessionStorage.getItem("mlp-api-key")'), API_KEY, 'kept for this tab');
  });

  test('with the key, an upload, a job started from the form, its live event stream and cancelling it all work', async () => {
    await session.open('#/datasets');
    await page.getByLabel('One CSV or JSON file', { exact: true }).check();
    await page.getByLabel('CSV or JSON file', { exact: true }).setInputFiles(xorFile);
    await page.getByLabel('Name (optional)', { exact: true }).fill('xor');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/#\/datasets\/ds_[0-9a-f]{20}$/);
    await page.getByRole('heading', { name: 'xor' }).waitFor();
    const datasetId = page.url().split('/').at(-1) ?? '';

    await session.open('#/jobs');
    await page.getByLabel('Dataset', { exact: true }).selectOption(datasetId);
    await page.getByLabel('Epochs', { exact: true }).fill(String(LONG_JOB_EPOCHS));
    await page.getByText('Advanced').click();
    await page.getByLabel('Batch size', { exact: true }).fill('1');
    // XOR is fitted within seconds: a patience longer than the run keeps early stopping from ending it before the cancel.
    await page.getByLabel('Early stopping patience', { exact: true }).fill(String(LONG_JOB_EPOCHS));
    const stream = page.waitForResponse((response) => response.url().endsWith('/events'), { timeout: JOB_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(/#\/jobs\/job_[0-9a-f]{20}$/);
    assert.equal((await stream).status(), 200, 'the event stream took the key from its cookie');
    // The page reads the job once; epochs and the final state reach it only through the stream.
    await page.locator('#epochs-title + div tbody tr').first().waitFor({ timeout: JOB_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.locator('h1 .state-cancelled').waitFor({ timeout: JOB_TIMEOUT_MS });
    assert.equal(await page.getByText('The live connection dropped').count(), 0);
    await session.screenshot('api-key-job-cancelled');
  });
});
