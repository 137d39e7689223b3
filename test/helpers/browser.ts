import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { QueueWorker } from '../../src/queue/queue-worker.js';
import { startTestWorker } from './jobs.js';
import { startTestApp } from './service.js';

const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOTS_DIR = join(process.cwd(), 'test-output', 'screenshots');
/** Any one step of the UI, when nothing trains meanwhile. */
const STEP_TIMEOUT_MS = 10_000;

export interface BrowserSession {
  service: Awaited<ReturnType<typeof startTestApp>>;
  worker: QueueWorker;
  page: Page;
  /** A fresh page load each time, even when only the hash differs from the current address. */
  open(hash: string): Promise<void>;
  /** The whole page as test-output/screenshots/<name>.png, to look at after a run. */
  screenshot(name: string): Promise<void>;
  /** Writes a file for the page to upload, into a folder `close()` removes; answers its path. */
  fixture(name: string, contents: string | Uint8Array): Promise<string>;
  close(): Promise<void>;
}

/**
 * A listening app on isolated state, a worker in this process, and a page in Debian's Chromium
 * driven by playwright-core (`npx playwright install` cannot download a browser here).
 */
export async function startBrowserSession(overrides: Record<string, string>, viewport: { width: number; height: number }): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: install it with \`apt-get update && apt-get install -y chromium\` (never \`npx playwright install\`)`);
  }
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const service = await startTestApp(overrides);
  const worker = await startTestWorker(service.config);
  const baseUrl = await service.app.listen({ port: 0, host: '127.0.0.1' });
  const home = await fetch(baseUrl);
  assert.equal(home.status, 200, `GET / answered ${home.status}: build the dashboard with npm run build:web first`);
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const fixtures = await mkdtemp(join(tmpdir(), 'mlp-web-fixtures-'));
  return {
    service,
    worker,
    page,
    async open(hash) {
      await page.goto('about:blank');
      await page.goto(`${baseUrl}/${hash}`);
    },
    async screenshot(name) {
      await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
    },
    async fixture(name, contents) {
      const path = join(fixtures, name);
      await writeFile(path, contents);
      return path;
    },
    async close() {
      await browser.close();
      await worker.close();
      await service.close();
      await rm(fixtures, { recursive: true, force: true });
    },
  };
}
