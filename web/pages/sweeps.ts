import { api, LIST_PAGE_MAX } from '../api.js';
import type { Sweep, SweepList, SweepTrial } from '../api-types.js';
import { errorText, formatDate, formatNumber, formatPercent, h, notice, poll, show } from '../dom.js';
import { shortId } from '../job-format.js';
import { jobHref, sweepHref, type Page } from '../route.js';
import { scatterPlot } from '../scatter.js';

const REFRESH_MS = 2000;

/** Each trial state has its own symbol and word, so it reads the same without colour. */
const TRIAL_SYMBOLS: Record<SweepTrial['state'], string> = {
  pending: '…', running: '▶', pruned: '✂', completed: '✓', failed: '✗', cancelled: '⊘',
};

const trialBadge = (state: SweepTrial['state']): HTMLElement =>
  h('span', { class: `state state-${state}` }, h('span', { 'aria-hidden': 'true' }, TRIAL_SYMBOLS[state]), state);

const scoreText = (metric: Sweep['request']['metric'], score: number | null): string =>
  score === null ? '–' : metric === 'valAccuracy' ? formatPercent(score) : formatNumber(score);

const paramText = (value: unknown): string => (typeof value === 'number' ? formatNumber(value) : typeof value === 'string' ? value : JSON.stringify(value));

const EXAMPLE = `curl -H 'content-type: application/json' -d '{"datasetId":"ds_…","base":{"shape":[784,128,10],"epochs":27},"space":{"learningRate":{"min":0.001,"max":0.5,"log":true}},"trials":16}' localhost:3000/sweeps`;

export const sweepsPage: Page = async (root, route, signal) => {
  const id = route.path[1];
  if (id) return sweepPage(root, id, signal);
  const first = await api.get<SweepList>(`/sweeps?limit=${LIST_PAGE_MAX}`, signal);
  if (first.sweeps.length === 0) {
    show(root, h('h1', {}, 'Sweeps'), h('section', { class: 'panel', 'aria-labelledby': 'sweeps-title' },
      h('h2', { id: 'sweeps-title' }, 'Hyperparameter sweeps'),
      h('p', {}, 'No sweeps yet. Start one with POST /sweeps (see ', h('a', { href: '/docs' }, 'the API documentation'), '), for example:'),
      h('pre', { class: 'mono' }, EXAMPLE)));
    return;
  }
  const rows = h('tbody', {});
  const summary = h('p', { role: 'status' });
  const problem = h('div', { 'aria-live': 'polite' });
  const older = h('button', { type: 'button', class: 'secondary' }, 'Load older sweeps');
  let shown = 0;
  let nextCursor: string | null = null;
  const add = (page: SweepList) => {
    rows.append(...page.sweeps.map(sweepRow));
    shown += page.sweeps.length;
    nextCursor = page.nextCursor;
    older.hidden = nextCursor === null;
    show(summary, `${shown} of ${page.total} sweeps, newest first`);
  };
  older.addEventListener('click', () => {
    if (nextCursor === null) return;
    older.disabled = true;
    api.get<SweepList>(`/sweeps?limit=${LIST_PAGE_MAX}&cursor=${encodeURIComponent(nextCursor)}`, signal).then(
      (page) => {
        add(page);
        show(problem);
      },
      (error: unknown) => show(problem, notice('error', h('p', {}, `Older sweeps could not be loaded: ${errorText(error)}`))),
    ).finally(() => (older.disabled = false));
  });
  add(first);
  show(root,
    h('h1', {}, 'Sweeps'),
    h('section', { class: 'panel', 'aria-labelledby': 'sweeps-title' },
      h('h2', { id: 'sweeps-title' }, 'Hyperparameter sweeps'),
      summary,
      h('div', { class: 'table-scroll' }, h('table', { class: 'cards' },
        h('thead', {}, h('tr', {}, ...['Sweep', 'Started', 'Search', 'State', 'Trials', 'Best'].map((title) => h('th', { scope: 'col' }, title)))),
        rows)),
      problem,
      h('div', { class: 'actions' }, older)));
};

function sweepRow(sweep: SweepList['sweeps'][number]): HTMLElement {
  return h('tr', {},
    h('td', { 'data-label': 'Sweep' }, h('a', { href: sweepHref(sweep.id), class: 'mono' }, shortId(sweep.id))),
    h('td', { 'data-label': 'Started' }, formatDate(sweep.createdAt)),
    h('td', { 'data-label': 'Search' }, `${sweep.request.strategy} · ${sweep.request.scheduler} · ${Object.keys(sweep.request.space).join(', ')}`),
    h('td', { 'data-label': 'State' }, sweep.state),
    h('td', { 'data-label': 'Trials' }, countsText(sweep)),
    h('td', { 'data-label': 'Best' }, scoreText(sweep.request.metric, sweep.best?.score ?? null)));
}

function countsText(sweep: Pick<Sweep, 'counts'>): string {
  return Object.entries(sweep.counts).filter(([, count]) => count > 0).map(([state, count]) => `${count} ${state}`).join(' · ');
}

async function sweepPage(root: HTMLElement, id: string, signal: AbortSignal): Promise<void> {
  const status = h('p', { role: 'status' });
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel the sweep');
  const board = h('div', {});
  const scatters = h('div', { class: 'scatter-grid' });
  const problems = h('div', { 'aria-live': 'polite' });
  show(root,
    h('h1', {}, 'Sweep ', h('span', { class: 'mono' }, shortId(id))),
    status, cancel, problems,
    h('section', { class: 'panel', 'aria-labelledby': 'leaderboard-title' }, h('h2', { id: 'leaderboard-title' }, 'Leaderboard'), board),
    h('section', { class: 'panel', 'aria-labelledby': 'scatter-title' },
      h('h2', { id: 'scatter-title' }, 'Metric against each parameter'),
      h('p', { class: 'hint' }, 'Filled: ran to its end. Hollow: stopped early by the scheduler or the diagnosis.'),
      scatters));
  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    api.delete<Sweep>(`/sweeps/${encodeURIComponent(id)}`).then(draw, (error: unknown) => show(problems, notice('error', h('p', {}, errorText(error)))));
  });

  function draw(sweep: Sweep): void {
    const { metric } = sweep.request;
    show(status, `${sweep.state} · ${sweep.request.strategy} search · scheduler ${sweep.request.scheduler}${sweep.rungs.length > 0 ? ` (rungs at epochs ${sweep.rungs.join(', ')})` : ''} · ${countsText(sweep)}`);
    cancel.hidden = sweep.state !== 'running';
    const fields = Object.keys(sweep.request.space);
    show(board, h('div', { class: 'table-scroll' }, h('table', { class: 'cards' },
      h('thead', {}, h('tr', {}, ...['Rank', ...fields, 'State', 'Epochs', metric, 'Job', 'Why stopped'].map((title) => h('th', { scope: 'col' }, title)))),
      h('tbody', {}, ...sweep.leaderboard.map((trial, rank) => h('tr', {},
        h('td', { 'data-label': 'Rank' }, trial.score === null ? '–' : String(rank + 1)),
        ...fields.map((field) => h('td', { 'data-label': field, class: 'mono' }, paramText(trial.params[field]))),
        h('td', { 'data-label': 'State' }, trialBadge(trial.state)),
        h('td', { 'data-label': 'Epochs' }, String(trial.epochs)),
        h('td', { 'data-label': metric }, scoreText(metric, trial.score)),
        h('td', { 'data-label': 'Job' }, trial.jobId ? h('a', { href: jobHref(trial.jobId), class: 'mono' }, shortId(trial.jobId)) : '–'),
        h('td', { 'data-label': 'Why stopped' }, trial.stopped?.reason ?? trial.error ?? '')))))));
    const scored = sweep.leaderboard.filter((trial) => trial.score !== null);
    show(scatters, ...(scored.length === 0 ? [h('p', {}, 'No trial has finished an epoch yet.')] : fields.map((field) => {
      const dimension = sweep.request.space[field as keyof typeof sweep.request.space];
      return h('figure', {}, scatterPlot(scored.map((trial) => ({
        x: trial.params[field] as number | string,
        y: trial.score!,
        hollow: trial.state === 'pruned',
        label: `trial ${trial.index}: ${field} ${paramText(trial.params[field])}, ${metric} ${scoreText(metric, trial.score)} (${trial.state})`,
      })), { title: `${metric} against ${field}`, xLabel: field, yLabel: metric, logX: Boolean(dimension && 'log' in dimension && dimension.log), fraction: metric === 'valAccuracy' }));
    })));
  }

  poll(REFRESH_MS, signal, async () => {
    try {
      const sweep = await api.get<Sweep>(`/sweeps/${encodeURIComponent(id)}`, signal);
      draw(sweep);
      return sweep.state === 'running';
    } catch (error) {
      if (!signal.aborted) show(problems, notice('error', h('p', {}, errorText(error))));
      return false;
    }
  });
}
