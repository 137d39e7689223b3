import type { JobSummary } from './api-types.js';
import { formatDate, formatDuration, formatNumber, formatPercent, h, show, scrollBox } from './dom.js';
import { bestAccuracyText, learningRateText, listedBestAccuracy, progressView, runName, runSeconds, shapeText, shortId, stateBadge } from './job-format.js';
import { compareHref, datasetHref, jobHref } from './route.js';

type CellContent = Node | string;

/** One column of the runs table: what it shows, what it sorts by, and the text a filter matches. */
interface Column {
  id: string;
  title: string;
  /** The sort key; null sorts last either way. */
  value: (job: JobSummary) => string | number | null;
  /** Defaults to the value as text, or "–". */
  cell?: (job: JobSummary) => CellContent;
  /** What decides whether the cell must be redrawn; defaults to the value. */
  key?: (job: JobSummary) => string;
  numeric?: boolean;
  shown: boolean;
}

const metric = (format: (value: number) => string, read: (job: JobSummary) => number | undefined | null): Pick<Column, 'value' | 'cell' | 'numeric'> => ({
  value: (job) => read(job) ?? null,
  cell: (job) => {
    const value = read(job);
    return value === undefined || value === null ? '–' : format(value);
  },
  numeric: true,
});

/** The MLflow runs table's columns: identity, every hyperparameter, the final and best metrics, duration and state. */
function columns(datasetNames: Map<string, string>): Column[] {
  return [
    {
      id: 'run', title: 'Run', shown: true, value: runName,
      cell: (job) => h('a', { href: jobHref(job.id) }, job.name ?? h('span', { class: 'mono' }, shortId(job.id))),
    },
    { id: 'state', title: 'State', shown: true, value: (job) => job.state, cell: (job) => stateBadge(job.state) },
    {
      id: 'tags', title: 'Tags', shown: true, value: (job) => job.tags.join(' '),
      cell: (job) => (job.tags.length === 0 ? '–' : h('span', { class: 'tags' }, ...job.tags.map((tag) => h('span', { class: 'tag' }, tag)))),
    },
    {
      id: 'dataset', title: 'Dataset', shown: false, value: (job) => datasetNames.get(job.datasetId) ?? job.datasetId,
      cell: (job) => h('a', { href: datasetHref(job.datasetId) }, datasetNames.get(job.datasetId) ?? shortId(job.datasetId)),
    },
    { id: 'shape', title: 'Shape', shown: true, value: (job) => shapeText(job.config.shape) },
    { id: 'activation', title: 'Activation', shown: true, value: (job) => job.config.activation },
    { id: 'optimizer', title: 'Optimizer', shown: true, value: (job) => job.config.optimizer },
    {
      id: 'learningRate', title: 'Learning rate', shown: true, numeric: true,
      value: (job) => (job.config.learningRate === 'auto' ? job.learningRateSearch?.chosen ?? null : job.config.learningRate),
      cell: learningRateText,
    },
    { id: 'batchSize', title: 'Batch', shown: true, numeric: true, value: (job) => job.config.batchSize },
    { id: 'epochs', title: 'Epochs', shown: false, numeric: true, value: (job) => job.config.epochs },
    { id: 'momentum', title: 'Momentum', shown: false, numeric: true, value: (job) => job.config.momentum },
    { id: 'l2', title: 'L2', shown: false, numeric: true, value: (job) => job.config.l2 },
    { id: 'dropout', title: 'Dropout', shown: false, numeric: true, value: (job) => job.config.dropout },
    { id: 'schedule', title: 'Schedule', shown: false, value: (job) => job.config.schedule.kind },
    { id: 'init', title: 'Init', shown: false, value: (job) => job.config.init.kind },
    { id: 'loss', title: 'Loss function', shown: false, value: (job) => job.config.loss },
    { id: 'outputActivation', title: 'Output', shown: false, value: (job) => job.config.outputActivation },
    { id: 'seed', title: 'Seed', shown: false, numeric: true, value: (job) => job.config.seed },
    { id: 'progress', title: 'Progress', shown: true, value: (job) => job.progress?.step ?? 0, cell: progressView, key: (job) => JSON.stringify([job.state, job.progress]) },
    { id: 'trainLoss', title: 'Train loss', shown: false, ...metric(formatNumber, (job) => job.lastEpoch?.trainLoss) },
    { id: 'valLoss', title: 'Validation loss', shown: true, ...metric(formatNumber, (job) => job.lastEpoch?.valLoss) },
    { id: 'trainAccuracy', title: 'Train accuracy', shown: false, ...metric(formatPercent, (job) => job.lastEpoch?.trainAccuracy) },
    { id: 'valAccuracy', title: 'Validation accuracy', shown: true, ...metric(formatPercent, (job) => job.lastEpoch?.valAccuracy) },
    {
      id: 'bestAccuracy', title: 'Model accuracy', shown: true, numeric: true,
      value: (job) => job.bestAccuracy, cell: (job) => bestAccuracyText(listedBestAccuracy(job)),
    },
    {
      id: 'duration', title: 'Duration', shown: true, numeric: true, value: (job) => runSeconds(job),
      cell: (job) => {
        const seconds = runSeconds(job);
        return seconds === null ? '–' : formatDuration(seconds);
      },
      // A running job's duration grows on its own: redraw it at each refresh, a finished one never.
      key: (job) => `${job.state} ${Math.round(runSeconds(job) ?? -1)}`,
    },
    { id: 'createdAt', title: 'Created', shown: false, value: (job) => job.createdAt, cell: (job) => formatDate(job.createdAt) },
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

const text = (value: string | number | null): string => (value === null ? '' : String(value).toLowerCase());

/** A filter's words: `optimizer:adam` must match that column, any other word some column. */
function matches(job: JobSummary, shown: Column[], all: Column[], words: string[]): boolean {
  return words.every((word) => {
    const [name, wanted] = word.includes(':') ? word.split(/:(.*)/s) : [null, word];
    const candidates = name === null ? shown : all.filter((column) => column.id.toLowerCase() === name || column.title.toLowerCase() === name);
    return candidates.some((column) => text(column.value(job)).includes(wanted));
  });
}

interface DrawnCell {
  key: string;
  element: HTMLTableCellElement;
}

/**
 * The runs table: sortable and filterable, its columns chosen by the user and remembered.
 * Refreshes redraw only the cells whose content changed and move rows only when their order
 * changed, so focus, selection and scroll hold while running jobs update.
 */
export class RunsTable {
  readonly element: HTMLElement;
  private readonly columns: Column[];
  private jobs: JobSummary[] = [];
  private readonly rows = new Map<string, { row: HTMLTableRowElement; cells: Map<string, DrawnCell>; columnsKey: string }>();
  private readonly selected = new Set<string>();
  private sort: { id: string; descending: boolean } | null = null;
  private readonly body = h('tbody');
  private readonly headRow = h('tr');
  private readonly filter = h('input', { type: 'search', name: 'filter', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. relu state:completed' });
  private readonly count = h('p', { class: 'hint', 'aria-live': 'polite' });
  private readonly compareButton = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Compare selected');
  private readonly columnChoices = h('div', { class: 'column-choices' });

  constructor(datasetNames: Map<string, string>) {
    this.columns = columns(datasetNames);
    const saved = savedColumnIds();
    if (saved) for (const column of this.columns) column.shown = saved.includes(column.id);
    const filterId = 'runs-filter';
    this.filter.id = filterId;
    this.filter.setAttribute('aria-describedby', `${filterId}-hint`);
    this.filter.addEventListener('input', () => this.draw());
    this.compareButton.addEventListener('click', () => { location.hash = compareHref([...this.selected]); });
    this.drawColumnChoices();
    this.element = h('div', {},
      h('div', { class: 'runs-tools' },
        h('div', { class: 'field' },
          h('label', { class: 'field-label', for: filterId }, 'Filter runs'),
          this.filter,
          h('small', { class: 'hint', id: `${filterId}-hint` }, 'Every word must match a shown column; column:word matches one column, e.g. optimizer:adam.')),
        h('details', { class: 'column-picker' }, h('summary', {}, 'Columns'), this.columnChoices)),
      this.count,
      scrollBox(h('table', { class: 'cards runs' }, h('thead', {}, this.headRow), this.body)),
      h('div', { class: 'actions' }, this.compareButton, h('span', { class: 'hint' }, 'Tick two or more runs to overlay their curves.')));
    this.drawHead();
  }

  update(jobs: JobSummary[]): void {
    this.jobs = jobs;
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
      const sorted = this.sort?.id === column.id ? this.sort : null;
      const button = h('button', { type: 'button', class: 'sort' }, column.title, h('span', { 'aria-hidden': 'true' }, sorted ? (sorted.descending ? ' ▼' : ' ▲') : ''));
      button.addEventListener('click', () => {
        this.sort = { id: column.id, descending: sorted ? !sorted.descending : column.numeric === true };
        this.drawHead();
        this.draw();
        this.headRow.querySelector<HTMLButtonElement>(`th[data-column="${column.id}"] button`)?.focus();
      });
      return h('th', {
        scope: 'col', 'data-column': column.id, class: column.numeric ? 'number' : undefined,
        'aria-sort': sorted ? (sorted.descending ? 'descending' : 'ascending') : undefined,
      }, button);
    }));
  }

  private ordered(): JobSummary[] {
    const shown = this.shown();
    const words = this.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const kept = this.jobs.filter((job) => matches(job, shown, this.columns, words));
    const column = this.columns.find((candidate) => candidate.id === this.sort?.id);
    if (!column || !this.sort) return kept;
    const direction = this.sort.descending ? -1 : 1;
    return kept.map((job) => ({ job, value: column.value(job) })).sort((a, b) => {
      if (a.value === null || b.value === null) return a.value === b.value ? 0 : a.value === null ? 1 : -1;
      return (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) * direction;
    }).map(({ job }) => job);
  }

  private draw(): void {
    const jobs = this.ordered();
    this.count.textContent = this.jobs.length === jobs.length ? `${jobs.length} runs` : `${jobs.length} of ${this.jobs.length} runs match the filter`;
    const wanted = jobs.map((job) => this.drawRow(job));
    if (wanted.length === 0) {
      show(this.body, h('tr', {}, h('td', { colspan: this.shown().length + 1 }, this.jobs.length === 0 ? 'No jobs yet: start one with the form.' : 'No run matches the filter.')));
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
