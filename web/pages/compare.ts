import { api } from '../api.js';
import type { Job, JobList } from '../api-types.js';
import { LineChart, lineStyle, swatch, type Curve } from '../charts.js';
import { errorText, formatNumber, h, notice, poll, show } from '../dom.js';
import { bestAccuracyText, listedBestAccuracy, isFinished, jobLabel, shortId, stateBadge, stepLossPoints } from '../job-format.js';
import { compareHref, jobHref, type Page } from '../route.js';

const REFRESH_MS = 3000;
const JOBS_OFFERED = 50;

export const comparePage: Page = async (root, route, signal) => {
  const chosen = (route.query.get('jobs') ?? '').split(',').filter(Boolean);
  const { jobs } = await api.get<JobList>(`/jobs?limit=${JOBS_OFFERED}`, signal);

  const picker = h('form', {},
    h('fieldset', {},
      h('legend', {}, 'Jobs to overlay'),
      jobs.length === 0
        ? h('p', {}, 'No jobs yet. ', h('a', { href: '#/jobs' }, 'Start two'), ' with different settings, then compare them here.')
        : h('ul', { class: 'stack', style: 'list-style: none; padding: 0; margin: 0' }, ...jobs.map((job) => h('li', {},
          h('label', { class: 'choice' },
            h('input', { type: 'checkbox', name: 'job', value: job.id, checked: chosen.includes(job.id) }),
            h('span', { class: 'mono' }, shortId(job.id)), ' ', jobLabel(job), ' ', stateBadge(job.state)))))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Compare')));
  const pickerStatus = h('div', { 'aria-live': 'polite' });
  picker.addEventListener('submit', (event) => {
    event.preventDefault();
    const ids = new FormData(picker).getAll('job').map(String);
    if (ids.length < 2) show(pickerStatus, notice('warning', h('p', {}, 'Tick at least two jobs to compare.')));
    else location.hash = compareHref(ids);
  });

  const comparing = chosen.length >= 2;
  show(root,
    h('h1', {}, 'Compare jobs'),
    h('section', { class: 'panel', 'aria-labelledby': 'choose-title' },
      h('details', { open: !comparing },
        h('summary', { id: 'choose-title' }, comparing ? `Comparing ${chosen.length} jobs: change the selection` : 'Choose the jobs to compare'),
        picker,
        pickerStatus)));
  if (!comparing) {
    root.append(notice('info', h('p', {}, 'Choose two or more jobs, for example the same network with learning rates 0.3 and 0.0001.')));
    return;
  }

  const view = h('div', {});
  const lossChart = new LineChart({ title: 'Loss per step', xLabel: 'epoch', yLabel: 'loss (log scale)', logY: true });
  const accuracyChart = new LineChart({ title: 'Accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy', fraction: true });
  signal.addEventListener('abort', () => {
    lossChart.destroy();
    accuracyChart.destroy();
  });
  root.append(
    h('section', { class: 'panel', 'aria-label': 'Curves' }, h('div', { class: 'columns' }, lossChart.element, accuracyChart.element)),
    h('section', { class: 'panel', 'aria-labelledby': 'compare-summary-title' }, h('h2', { id: 'compare-summary-title' }, 'Runs'), view));

  poll(REFRESH_MS, signal, async () => {
    try {
      const compared = await Promise.all(chosen.map((id) => api.get<Job>(`/jobs/${encodeURIComponent(id)}`, signal)));
      show(view, summaryTable(compared));
      const running = compared.some((job) => !isFinished(job.state));
      const xMax = running ? Math.max(...compared.map((job) => job.config.epochs)) : null;
      lossChart.update(compared.map((job, n) => ({ label: curveLabel(job), points: stepLossPoints(job), style: lineStyle(n) })), xMax);
      accuracyChart.update(compared.map((job, n) => accuracyCurve(job, n)), xMax);
      return running;
    } catch (error) {
      if (!signal.aborted) show(view, notice('error', h('p', {}, errorText(error))));
      return false;
    }
  });
};

const curveLabel = (job: Job): string => `${shortId(job.id)} · ${jobLabel(job)}`;

/** Validation accuracy when the job has it, else training accuracy; the label says which. */
function accuracyCurve(job: Job, n: number): Curve {
  const records = job.history.epochs;
  const validated = records.some((record) => record.valAccuracy !== undefined);
  return {
    label: `${curveLabel(job)} (${validated ? 'validation' : 'training'})`,
    points: records.map((record) => [record.epoch, (validated ? record.valAccuracy : record.trainAccuracy) ?? Number.NaN]),
    style: lineStyle(n, { points: true }),
  };
}

function summaryTable(jobs: Job[]): HTMLElement {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'cards' },
    h('thead', {}, h('tr', {}, ...['Line', 'Job', 'Settings', 'State', 'Last loss', 'Best accuracy'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, ...jobs.map((job, n) => {
      const lastLoss = job.history.steps.at(-1)?.loss;
      return h('tr', {},
        h('td', { 'data-label': 'Line' }, swatch(lineStyle(n)), h('span', { class: 'visually-hidden' }, `line ${n + 1}`)),
        h('td', { 'data-label': 'Job' }, h('a', { href: jobHref(job.id), class: 'mono' }, shortId(job.id))),
        h('td', { 'data-label': 'Settings' }, jobLabel(job)),
        h('td', { 'data-label': 'State' }, stateBadge(job.state)),
        h('td', { 'data-label': 'Last loss' }, lastLoss === undefined ? '–' : formatNumber(lastLoss)),
        h('td', { 'data-label': 'Best accuracy' }, bestAccuracyText(listedBestAccuracy(job))));
    }))));
}
