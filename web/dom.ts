/** What an element may hold: nodes and text; null, undefined and false are skipped, so conditions read inline. */
type Child = Node | string | number | null | undefined | false;

/** Attribute values; true sets an empty attribute (`disabled`), false and undefined leave it out. */
type Attributes = Record<string, string | number | boolean | undefined>;

/** Creates an element with attributes and children: the whole UI is built from this one helper. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...present(children));
  return element;
}

/** Replaces everything inside `parent`. */
export function show(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...present(children));
}

function present(children: Child[]): (Node | string)[] {
  const kept: (Node | string)[] = [];
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    kept.push(typeof child === 'number' ? String(child) : child);
  }
  return kept;
}

/** A message the user must see: an error (✗) or a warning (⚠). The symbol says it without colour. */
export function notice(kind: 'error' | 'warning' | 'success' | 'info', ...children: Child[]): HTMLElement {
  const symbols = { error: '✗', warning: '⚠', success: '✓', info: 'ℹ' };
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' || kind === 'warning' ? 'alert' : 'status' },
    h('span', { class: 'notice-symbol', 'aria-hidden': 'true' }, symbols[kind]),
    h('div', {}, ...children));
}

/** Text of an error of any kind, for a notice. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const formatPercent = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;

/** 3 significant digits without trailing zeros: 0.000123, 1.5, 2340. */
export const formatNumber = (value: number): string => String(Number(value.toPrecision(3)));

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${formatNumber(seconds * 1000)} ms`;
  if (seconds < 10) return `${formatNumber(seconds)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export const formatDate = (iso: string): string => new Date(iso).toLocaleString();

let fieldCount = 0;

/**
 * A labelled form control, tied by id: a label that wrapped the control would take a select's
 * chosen option into its accessible name. A hint is tied with aria-describedby.
 */
export function field(label: string, control: HTMLElement, hint?: string, wide = false): HTMLElement {
  fieldCount++;
  control.id ||= `field-${fieldCount}`;
  const hintElement = hint ? h('small', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  return h('div', { class: wide ? 'field wide' : 'field' }, h('label', { class: 'field-label', for: control.id }, label), control, hintElement);
}

/**
 * A run of a polling task may take up to this share of the time from its start to the next run's:
 * a slow answer (a server sorting many thousands of runs for the list) spaces the next run out to
 * ten times its length, so one open page never keeps the server busy more than a tenth of the time.
 */
const POLL_BUSY_SHARE = 0.1;

/**
 * Runs `task` now and again `intervalMs` after each run finishes, or later after a slow run, while
 * it answers true and `signal` has not aborted: polling never overlaps itself, and it waits while
 * the page is hidden (another tab, a minimised window), running again as soon as it is shown.
 */
export function poll(intervalMs: number, signal: AbortSignal, task: () => Promise<boolean>): void {
  const run = async (): Promise<void> => {
    if (signal.aborted) return;
    if (document.hidden) {
      const shown = () => {
        if (document.hidden) return;
        document.removeEventListener('visibilitychange', shown);
        void run();
      };
      document.addEventListener('visibilitychange', shown);
      signal.addEventListener('abort', () => document.removeEventListener('visibilitychange', shown), { once: true });
      return;
    }
    const started = performance.now();
    const again = await task();
    const tookMs = performance.now() - started;
    if (again && !signal.aborted) setTimeout(run, Math.max(intervalMs, tookMs / POLL_BUSY_SHARE));
  };
  void run();
}

/**
 * A table in a box that scrolls sideways on narrow screens. The box takes focus, so keyboard
 * users can scroll it too, and is a named region, so that focus stop says what it holds.
 */
export function scrollBox(table: HTMLTableElement): HTMLElement {
  const name = table.getAttribute('aria-label') ?? 'Table';
  return h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': `${name} (scrolls sideways)` }, table);
}
