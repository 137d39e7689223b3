import { RUN_FIELD_IDS, RUN_FIELDS, runSeconds, type RunFieldId, type RunValue } from '../src/queue/run-fields.js';
import type { JobSummary } from './api-types.js';
import { formatDate, formatDuration, formatNumber, formatPercent, h, show, scrollBox } from './dom.js';
import { bestAccuracyText, learningRateText, listedBestAccuracy, progressView, runName, shortId, stateBadge } from './job-format.js';
import { compareHref, datasetHref, jobHref } from './route.js';

type CellContent = Node | string;

/** One column of the runs table: a field the server sorts and filters by, and how its cell looks. */
interface Column {
  id: RunFieldId;
  title: string;
  value: (job: JobSummary) => RunValue;
  /** Defaults to the value as text, or "–". */
  cell?: (job: JobSummary) => CellContent;
  /** What decides whether the cell must be redrawn; defaults to the value. */
  key?: (job: JobSummary) => string;
  numeric?: boolean;
  shown: boolean;
}

/** What the table asks the server for: the order and the filter. */
export interface RunsQuery {
  sort: RunFieldId;
  descending: boolean;
  filter: string;
}

const FILTER_PAUSE_MS = 300;

/** The order and filter a page address asks for (`#/jobs?sort=valLoss&order=asc&q=relu`), newest first by default. */
export function runsQueryFrom(params: URLSearchParams): RunsQuery {
  const sort = RUN_FIELD_IDS.find((id) => id === params.get('sort')) ?? 'createdAt';
  return { sort, descending: params.get('order') !== 'asc', filter: params.get('q') ?? '' };
}

/** The page address's parameters with the order and filter written in, so a reload or a shared link keeps them. */
export function withRunsQuery(params: URLSearchParams, query: RunsQuery): URLSearchParams {
  const next = new URLSearchParams(params);
  next.set('sort', query.sort);
  next.set('order', query.descending ? 'desc' : 'asc');
  if (query.filter === '') next.delete('q');
  else next.set('q', query.filter);
  return next;
}

function columns(datasetNames: Map<string, string>): Column[] {
  const column = (id: RunFieldId, shown: boolean, look: Partial<Pick<Column, 'cell' | 'key' | 'numeric'>> = {}): Column => ({
    id, title: RUN_FIELDS[id].title, shown, value: (job) => RUN_FIELDS[id].value(job, { now: Date.now(), datasetNames }), ...look,
  });
  const metric = (id: RunFieldId, shown: boolean, format: (value: number) => string): Column => {
    const plain = column(id, shown);
    return {
      ...plain,
      numeric: true,
      cell: (job) => {
        const value = plain.value(job);
        return typeof value === 'number' ? format(value) : '–';
      },
    };
  };
  return [
    column('run', true, { cell: (job) => h('a', { href: jobHref(job.id) }, job.name ?? h('span', { class: 'mono' }, shortId(job.id))) }),
    column('state', true, { cell: (job) => stateBadge(job.state) }),
    column('tags', true, { cell: (job) => (job.tags.length === 0 ? '–' : h('span', { class: 'tags' }, ...job.tags.map((tag) => h('span', { class: 'tag' }, tag)))) }),
    column('dataset', false, { cell: (job) => h('a', { href: datasetHref(job.datasetId) }, datasetNames.get(job.datasetId) ?? shortId(job.datasetId)) }),
    column('shape', true),
    column('activation', true),
    column('optimizer', true),
    column('learningRate', true, { numeric: true, cell: learningRateText }),
    column('batchSize', true, { numeric: true }),
    column('epochs', false, { numeric: true }),
    column('momentum', false, { numeric: true }),
    column('l2', false, { numeric: true }),
    column('dropout', false, { numeric: true }),
    column('schedule', false),
    column('init', false),
    column('loss', false),
    column('outputActivation', false),
    column('seed', false, { numeric: true }),
    column('progress', true, { cell: progressView, key: (job) => JSON.stringify([job.state, job.progress]) }),
    metric('trainLoss', false, formatNumber),
    metric('valLoss', true, formatNumber),
    metric('trainAccuracy', false, formatPercent),
    metric('valAccuracy', true, formatPercent),
    metric('bestTrainLoss', false, formatNumber),
    metric('bestValLoss', false, formatNumber),
    metric('bestTrainAccuracy', false, formatPercent),
    metric('bestValAccuracy', false, formatPercent),
    column('bestAccuracy', true, { numeric: true, cell: (job) => bestAccuracyText(listedBestAccuracy(job)) }),
    column('duration', true, {
      numeric: true,
      cell: (job) => {
        const seconds = runSeconds(job);
        return seconds === null ? '–' : formatDuration(seconds);
      },
      // A running job's duration grows on its own: redraw it at each refresh, a finished one never.
      key: (job) => `${job.state} ${Math.round(runSeconds(job) ?? -1)}`,
    }),
    column('createdAt', false, { cell: (job) => formatDate(job.createdAt) }),
  ];
}

const COLUMNS_STORAGE = 'mlp-runs-columns';

function savedColumnIds(): string[] | null {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(COLUMNS_STORAGE) ?? 'null');
    return Array.isArray(saved) && saved.every((id) => typeof id === 'string') ? saved : null;
  } catch {
    return null;
  }
}

interface DrawnCell {
  key: string;
  element: HTMLTableCellElement;
}

/**
 * The runs table: sorted and filtered by the server over every run, its columns chosen by the
 * user and remembered.
 * Refreshes redraw only the cells whose content changed and move rows only when their order
 * changed, so focus, selection and scroll hold while running jobs update.
 */
export class RunsTable {
  readonly element: HTMLElement;
  private readonly columns: Column[];
  private jobs: JobSummary[] = [];
  private total = 0;
  private readonly rows = new Map<string, { row: HTMLTableRowElement; cells: Map<string, DrawnCell>; columnsKey: string }>();
  private readonly selected = new Set<string>();
  private readonly query: RunsQuery;
  private readonly body = h('tbody');
  private readonly headRow = h('tr');
  private readonly filter = h('input', { type: 'search', name: 'filter', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. relu state:completed' });
  private readonly count = h('p', { class: 'hint runs-count', 'aria-live': 'polite' });
  private readonly compareButton = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Compare selected');
  private readonly columnChoices = h('div', { class: 'column-choices' });

  /** onQuery is told of every new order or filter, and answers with update(). */
  constructor(datasetNames: Map<string, string>, query: RunsQuery, private readonly onQuery: (query: RunsQuery) => void) {
    this.columns = columns(datasetNames);
    this.query = { ...query };
    this.filter.value = query.filter;
    const saved = savedColumnIds();
    if (saved) for (const column of this.columns) column.shown = saved.includes(column.id);
    const filterId = 'runs-filter';
    this.filter.id = filterId;
    this.filter.setAttribute('aria-describedby', `${filterId}-hint`);
    let pause: ReturnType<typeof setTimeout> | undefined;
    this.filter.addEventListener('input', () => {
      clearTimeout(pause);
      pause = setTimeout(() => {
        this.query.filter = this.filter.value.trim();
        this.onQuery({ ...this.query });
      }, FILTER_PAUSE_MS);
    });
    this.compareButton.addEventListener('click', () => { location.hash = compareHref([...this.selected]); });
    this.drawColumnChoices();
    this.element = h('div', {},
      h('div', { class: 'runs-tools' },
        h('div', { class: 'field' },
          h('label', { class: 'field-label', for: filterId }, 'Filter runs'),
          this.filter,
          h('small', { class: 'hint', id: `${filterId}-hint` }, 'Every word must match some field of the run; field:word matches one field, e.g. optimizer:adam or batch:64, and quotes keep spaces in a word, e.g. dataset:"digits 2024". Searches every run, not only the loaded ones.')),
        h('details', { class: 'column-picker' }, h('summary', {}, 'Columns'), this.columnChoices)),
      this.count,
      scrollBox(h('table', { class: 'cards runs' }, h('thead', {}, this.headRow), this.body)),
      h('div', { class: 'actions' }, this.compareButton, h('span', { class: 'hint' }, 'Tick two or more runs to overlay their curves.')));
    this.drawHead();
  }

  /** Shows the runs the server answered, in its order; total is how many match on every page. */
  update(jobs: JobSummary[], total: number): void {
    this.jobs = jobs;
    this.total = total;
    this.draw();
  }

  private shown(): Column[] {
    return this.columns.filter((column) => column.shown);
  }

  private drawColumnChoices(): void {
    show(this.columnChoices, ...this.columns.map((column) => {
      const box = h('input', { type: 'checkbox', checked: column.shown, disabled: column.id === 'run', 'aria-label': `${column.title} column` });
      box.addEventListener('change', () => {
        column.shown = box.checked;
        localStorage.setItem(COLUMNS_STORAGE, JSON.stringify(this.shown().map((shown) => shown.id)));
        this.drawHead();
        this.draw();
      });
      return h('label', { class: 'choice' }, box, column.title);
    }));
  }

  private drawHead(): void {
    show(this.headRow, h('th', { scope: 'col' }, 'Compare'), ...this.shown().map((column) => {
      const sorted = this.query.sort === column.id ? this.query : null;
      const button = h('button', { type: 'button', class: 'sort' }, column.title, h('span', { 'aria-hidden': 'true' }, sorted ? (sorted.descending ? ' ▼' : ' ▲') : ''));
      button.addEventListener('click', () => {
        this.query.descending = sorted ? !sorted.descending : column.numeric === true;
        this.query.sort = column.id;
        this.drawHead();
        this.onQuery({ ...this.query });
        this.headRow.querySelector<HTMLButtonElement>(`th[data-column="${column.id}"] button`)?.focus();
      });
      return h('th', {
        scope: 'col', 'data-column': column.id, class: column.numeric ? 'number' : undefined,
        'aria-sort': sorted ? (sorted.descending ? 'descending' : 'ascending') : undefined,
      }, button);
    }));
  }

  private draw(): void {
    const filtered = this.query.filter !== '';
    const runs = this.total === 1 ? '1 run' : `${this.total} runs`;
    const loaded = this.jobs.length < this.total ? `, ${this.jobs.length} loaded` : '';
    this.count.textContent = `${filtered ? `${runs} ${this.total === 1 ? 'matches' : 'match'} the filter` : runs}${loaded}`;
    const wanted = this.jobs.map((job) => this.drawRow(job));
    if (wanted.length === 0) {
      show(this.body, h('tr', {}, h('td', { colspan: this.shown().length + 1 }, filtered ? 'No run matches the filter.' : 'No jobs yet: start one with the form.')));
      return;
    }
    // Move a row only when it is out of place: moving the row that holds focus would drop it.
    wanted.forEach((row, i) => {
      if (this.body.children[i] !== row) this.body.insertBefore(row, this.body.children[i] ?? null);
    });
    while (this.body.children.length > wanted.length) this.body.lastElementChild?.remove();
  }

  private drawRow(job: JobSummary): HTMLTableRowElement {
    let entry = this.rows.get(job.id);
    if (!entry) {
      const checkbox = h('input', { type: 'checkbox', 'aria-label': `Compare run ${runName(job)}` });
      checkbox.addEventListener('change', () => {
        if (checkbox.checked) this.selected.add(job.id);
        else this.selected.delete(job.id);
        this.compareButton.disabled = this.selected.size < 2;
      });
      entry = { row: h('tr', { 'data-job': job.id }, h('td', { 'data-label': 'Compare' }, checkbox)), cells: new Map(), columnsKey: '' };
      this.rows.set(job.id, entry);
    }
    const shown = this.shown();
    const columnsKey = shown.map((column) => column.id).join(',');
    for (const column of shown) {
      const key = column.key ? column.key(job) : String(column.value(job));
      const drawn = entry.cells.get(column.id);
      if (drawn?.key === key) continue;
      const content = column.cell ? column.cell(job) : column.value(job) === null ? '–' : String(column.value(job));
      if (drawn) {
        drawn.key = key;
        show(drawn.element, content);
      } else {
        entry.cells.set(column.id, { key, element: h('td', { 'data-label': column.title, class: column.numeric ? 'number' : undefined }, content) });
      }
    }
    if (entry.columnsKey !== columnsKey) {
      entry.columnsKey = columnsKey;
      entry.row.replaceChildren(entry.row.cells[0], ...shown.map((column) => entry.cells.get(column.id)!.element));
    }
    return entry.row;
  }
}
