import { api } from '../api.js';
import type { Job, JobList } from '../api-types.js';
import { LineChart, lineStyle, swatch, type Curve } from '../charts.js';
import { errorText, formatNumber, h, notice, poll, show, scrollBox } from '../dom.js';
import { bestAccuracyText, listedBestAccuracy, isFinished, jobLabel, jobSettings, runName, shortId, stateBadge, stepLossPoints } from '../job-format.js';
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
  const lossChart = new LineChart({ title: 'Loss per step', xLabel: 'epoch', yLabel: 'loss', logY: true, smoothing: true, syncKey: 'compare' });
  const accuracyChart = new LineChart({ title: 'Accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy', fraction: true, syncKey: 'compare' });
  const differences = h('div', {});
  signal.addEventListener('abort', () => {
    lossChart.destroy();
    accuracyChart.destroy();
  });
  root.append(
    h('section', { class: 'panel', 'aria-label': 'Curves' }, h('div', { class: 'columns' }, lossChart.element, accuracyChart.element)),
    h('section', { class: 'panel', 'aria-labelledby': 'compare-summary-title' }, h('h2', { id: 'compare-summary-title' }, 'Runs'), view),
    h('section', { class: 'panel', 'aria-labelledby': 'differences-title' }, h('h2', { id: 'differences-title' }, 'Settings that differ'), differences));

  poll(REFRESH_MS, signal, async () => {
    try {
      const compared = await Promise.all(chosen.map((id) => api.get<Job>(`/jobs/${encodeURIComponent(id)}`, signal)));
      show(view, summaryTable(compared));
      show(differences, differenceTable(compared));
      const running = compared.some((job) => !isFinished(job.state));
      const xMax = running ? Math.max(...compared.map((job) => job.config.epochs)) : Math.max(0, ...compared.map((job) => job.history.epochs.at(-1)?.epoch ?? 0));
      lossChart.update(compared.map((job, n) => ({ label: curveLabel(job), points: stepLossPoints(job), style: lineStyle(n), smoothable: true })), xMax);
      accuracyChart.update(compared.map((job, n) => accuracyCurve(job, n)), xMax);
      return running;
    } catch (error) {
      if (!signal.aborted) show(view, notice('error', h('p', {}, errorText(error))));
      return false;
    }
  });
};

const curveLabel = (job: Job): string => `${runName(job)} · ${jobLabel(job)}`;

/** Only the settings that differ between the runs, one column per run: what the comparison is about. */
function differenceTable(jobs: Job[]): HTMLElement {
  const settings = jobs.map((job) => new Map(jobSettings(job)));
  const names = [...settings[0].keys()].filter((name) => new Set(settings.map((values) => values.get(name))).size > 1);
  if (names.length === 0) return h('p', {}, 'The runs have the same settings: they differ only by chance (the seed is the same too).');
  return scrollBox(h('table', { 'aria-label': 'Settings that differ' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Setting'), ...jobs.map((job, n) => h('th', { scope: 'col' }, swatch(lineStyle(n)), runName(job))))),
    h('tbody', {}, ...names.map((name) => h('tr', {}, h('th', { scope: 'row', class: 'mono' }, name), ...settings.map((values) => h('td', {}, values.get(name) ?? '–')))))));
}

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
  return scrollBox(h('table', { class: 'cards' },
    h('thead', {}, h('tr', {}, ...['Line', 'Job', 'Settings', 'State', 'Last loss', 'Best accuracy'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, ...jobs.map((job, n) => {
      const lastLoss = job.history.steps.at(-1)?.loss;
      return h('tr', {},
        h('td', { 'data-label': 'Line' }, swatch(lineStyle(n)), h('span', { class: 'visually-hidden' }, `line ${n + 1}`)),
        h('td', { 'data-label': 'Job' }, h('a', { href: jobHref(job.id) }, runName(job))),
        h('td', { 'data-label': 'Settings' }, jobLabel(job)),
        h('td', { 'data-label': 'State' }, stateBadge(job.state)),
        h('td', { 'data-label': 'Last loss' }, lastLoss === undefined ? '–' : formatNumber(lastLoss)),
        h('td', { 'data-label': 'Best accuracy' }, bestAccuracyText(listedBestAccuracy(job))));
    }))));
}
