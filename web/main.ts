import { ApiError } from './api.js';
import { showApiKeyPrompt } from './api-key-prompt.js';
import { errorText, h, notice, show } from './dom.js';
import { comparePage } from './pages/compare.js';
import { datasetsPage } from './pages/datasets.js';
import { jobPage } from './pages/job.js';
import { jobsPage } from './pages/jobs.js';
import { predictPage } from './pages/predict.js';
import { registryPage } from './pages/registry.js';
import { sweepsPage } from './pages/sweeps.js';
import { currentRoute, type Page } from './route.js';

const PAGES: Record<string, { title: string; page: Page }> = {
  jobs: { title: 'Jobs', page: (root, route, signal) => (route.path[1] ? jobPage : jobsPage)(root, route, signal) },
  compare: { title: 'Compare', page: comparePage },
  sweeps: { title: 'Sweeps', page: sweepsPage },
  datasets: { title: 'Datasets', page: datasetsPage },
  predict: { title: 'Predict', page: predictPage },
  registry: { title: 'Registry', page: registryPage },
};

const root = document.getElementById('page') as HTMLElement;
let leaving = new AbortController();

/**
 * The skip link focuses the page's content without touching the hash: the hash is the route, so
 * an ordinary `#page` link would navigate away.
 */
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  root.focus();
});

/**
 * After a route change, focus moves to the new page's content, as it would on a page load, so a
 * keyboard or screen-reader user starts there rather than on the nav link they left.
 */
async function navigateAndFocus(): Promise<void> {
  await navigate();
  if (!root.contains(document.activeElement)) root.focus({ preventScroll: true });
}

/** Draws the page the hash names. Whatever goes wrong ends as a message on the page, never a blank one. */
async function navigate(): Promise<void> {
  leaving.abort();
  const controller = new AbortController();
  leaving = controller;
  const route = currentRoute();
  const name = route.path[0] ?? 'jobs';
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a[data-page]')) {
    if (link.dataset.page === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const entry = Object.hasOwn(PAGES, name) ? PAGES[name] : undefined;
  document.title = `${entry?.title ?? 'Not found'} · MLP trainer`;
  show(root, h('p', { role: 'status' }, 'Loading…'));
  if (!entry) {
    show(root, h('h1', {}, 'Page not found'), notice('error', h('p', {}, `There is no page “${name}”. `, h('a', { href: '#/jobs' }, 'Go to the jobs'))));
    return;
  }
  try {
    await entry.page(root, route, controller.signal);
  } catch (error) {
    if (controller.signal.aborted) return;
    if (error instanceof ApiError && error.status === 401) {
      showApiKeyPrompt(root, () => void navigate());
      return;
    }
    const retry = h('button', { type: 'button', class: 'secondary' }, 'Try again');
    retry.addEventListener('click', () => void navigate());
    show(root, h('h1', {}, entry.title), notice('error', h('p', {}, errorText(error))), retry);
  }
}

window.addEventListener('hashchange', () => void navigateAndFocus());
window.addEventListener('unhandledrejection', (event) => {
  if (leaving.signal.aborted || (event.reason instanceof DOMException && event.reason.name === 'AbortError')) return;
  root.prepend(notice('error', h('p', {}, errorText(event.reason))));
});
void navigate();
