import uPlot from 'uplot';
import { formatNumber, h, show } from './dom.js';

/** How a line looks. Every line differs from the others by its dash pattern too, so colour is never the only cue. */
export interface LineStyle {
  colour: string;
  dash: number[];
  width: number;
  points: boolean;
  /** Drawn pale and thin: the raw values behind a smoothed line, as TensorBoard shows them. */
  faint?: boolean;
}

export interface Curve {
  label: string;
  /** [x, y] pairs in increasing x; a non-finite y (a diverged loss) leaves a gap. */
  points: [number, number][];
  style: LineStyle;
  /** Whether the smoothing slider applies to it (per-step losses), or not (per-epoch records). */
  smoothable?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Loss spans orders of magnitude: start on a log scale (the user can switch). */
  logY?: boolean;
  /** Accuracy: a 0..1 axis labelled in percent. */
  fraction?: boolean;
  /** An x axis over orders of magnitude (learning rates) instead of epochs. */
  logX?: boolean;
  /** Offer the EMA smoothing slider, for noisy per-step curves. */
  smoothing?: boolean;
  /** Charts with the same key show the hover cursor at the same x together. */
  syncKey?: string;
}

/**
 * Seven line colours, `--series-0` to `--series-6` in styles.css: the Okabe–Ito hues, told apart
 * with the common colour-vision deficiencies, each at a lightness with 3:1 contrast against the
 * light and the dark paper alike.
 */
const SERIES_COLOURS = 7;
const DASHES = [[], [10, 5], [2, 4], [12, 4, 2, 4], [6, 3], [1, 2], [16, 6]];

/** The nth distinct look: colour and dash pattern both change with n. */
export function lineStyle(n: number, overrides: Partial<LineStyle> = {}): LineStyle {
  return { colour: `var(--series-${n % SERIES_COLOURS})`, dash: DASHES[n % DASHES.length], width: 2, points: false, ...overrides };
}

/** A colour a canvas can paint: a `var(--name)` looked up in the page's current colour scheme. */
export function paintable(colour: string, element: Element = document.documentElement): string {
  const variable = /^var\((--[\w-]+)\)$/.exec(colour)?.[1];
  return variable === undefined ? colour : getComputedStyle(element).getPropertyValue(variable).trim() || '#777777';
}

/** Opacity of a faint line, as two hex digits appended to a #rrggbb colour. */
const FAINT_ALPHA_HEX = '4d';

function stroke(style: LineStyle, element: Element): string {
  const colour = paintable(style.colour, element);
  return style.faint && /^#[0-9a-f]{6}$/i.test(colour) ? `${colour}${FAINT_ALPHA_HEX}` : colour;
}

/** CSS for a legend swatch drawn in a line's colour and dash (an SVG line, so the pattern shows). */
export function swatch(style: LineStyle): HTMLElement {
  const svgNamespace = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNamespace, 'svg');
  svg.setAttribute('width', '36');
  svg.setAttribute('height', '10');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(svgNamespace, 'line');
  for (const [name, value] of Object.entries({ x1: 0, y1: 5, x2: 36, y2: 5, 'stroke-width': 3, 'stroke-dasharray': style.dash.join(' ') })) {
    line.setAttribute(name, String(value));
  }
  // A style property, unlike the stroke attribute, follows the colour variable across schemes.
  line.style.stroke = style.colour;
  svg.append(line);
  const wrapper = document.createElement('span');
  wrapper.className = 'swatch-svg';
  wrapper.append(svg);
  return wrapper;
}

/** The legend marker's CSS border style closest to a line's dash pattern. */
function legendDash(dash: number[]): string {
  if (dash.length === 0) return 'solid';
  return dash[0] <= 2 ? 'dotted' : 'dashed';
}

const CHART_HEIGHT_PX = 260;
/** Room above the highest point of a log-scale curve, as a factor. */
const LOG_HEADROOM = 1.2;
/** Room around a linear curve, as a share of its span, so points do not sit on the frame. */
const LINEAR_PADDING = 0.05;
const MIN_CHART_WIDTH_PX = 260;
/** TensorBoard's default smoothing weight. */
const DEFAULT_SMOOTHING = 0.6;
/** Rows of the data table before it is thinned to every n-th. */
const TABLE_ROWS = 200;
/** Whole-number epoch ticks only: a 5-epoch run gets no tick at 1.5. */
const EPOCH_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000];

/**
 * A log axis from the decade below the lowest point to just above the highest. uPlot's default
 * snaps the top to a decade too, leaving much of the height empty; the bottom must stay a power
 * of ten, because uPlot's log tick placement steps up from it and never ends otherwise.
 */
function logRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || min <= 0) return [0.1, 10];
  return [10 ** Math.floor(Math.log10(min)), max * LOG_HEADROOM];
}

/** A linear axis fitted to the data with a little room, kept within 0..1 for fractions. */
function linearRange(min: number | null, max: number | null, fraction: boolean): [number, number] {
  if (min === null || max === null) return [0, 1];
  const pad = Math.max((max - min) * LINEAR_PADDING, Math.abs(max) * 1e-3, 1e-9);
  const range: [number, number] = [min - pad, max + pad];
  return fraction ? [Math.max(0, range[0]), Math.min(1, range[1])] : range;
}

/**
 * Exponential moving average as TensorBoard draws it, debiased so the first points are not pulled
 * towards 0: s_t = w·s_{t-1} + (1 − w)·y_t, shown as s_t / (1 − w^t). Gaps (non-finite) are skipped.
 */
export function smooth(values: number[], weight: number): number[] {
  if (weight <= 0) return values;
  let average = 0;
  let count = 0;
  return values.map((value) => {
    if (!Number.isFinite(value)) return value;
    count++;
    average = weight * average + (1 - weight) * value;
    return average / (1 - weight ** count);
  });
}

function download(name: string, href: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = name;
  link.click();
}

const fileName = (title: string): string => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * A uPlot line chart in the TensorBoard manner: EMA smoothing, a log/linear switch, a y axis
 * fitted to the data, values on hover, a visible zoom reset, CSV and PNG export, and its data as a
 * table for those who cannot see the plot. It follows its container's width. Curves with
 * different x values share one chart: uPlot.join aligns them, and spanGaps draws each line
 * across the others' x.
 */
export class LineChart {
  readonly element = document.createElement('figure');
  private readonly container = document.createElement('div');
  private plot: uPlot | null = null;
  private plotKey = '';
  private curves: Curve[] = [];
  /** The x axis runs from 0 to here: the run's planned or finished epochs, so charts of one run line up. */
  private xMax: number | null = null;
  private logY: boolean;
  private smoothing: number;
  private readonly resizeObserver: ResizeObserver;
  private readonly tableHolder: HTMLDetailsElement;
  private readonly darkScheme = matchMedia('(prefers-color-scheme: dark)');
  /** A canvas keeps the colours it was drawn with: a new colour scheme draws the plot again. */
  private readonly redrawInScheme = () => {
    this.plotKey = '';
    this.draw();
  };

  constructor(private readonly options: ChartOptions) {
    this.logY = options.logY ?? false;
    this.smoothing = options.smoothing ? DEFAULT_SMOOTHING : 0;
    this.element.className = 'chart';
    this.element.setAttribute('aria-label', `${options.title}: ${options.yLabel} against ${options.xLabel}`);
    this.tableHolder = h('details', { class: 'chart-data' }, h('summary', {}, `${options.title}: data as a table`));
    this.tableHolder.addEventListener('toggle', () => this.drawTable());
    this.element.append(this.toolbar(), this.container, this.tableHolder);
    this.resizeObserver = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: CHART_HEIGHT_PX }));
    this.resizeObserver.observe(this.element);
    this.darkScheme.addEventListener('change', this.redrawInScheme);
  }

  update(curves: Curve[], xMax: number | null = null): void {
    this.curves = curves;
    this.xMax = xMax;
    this.draw();
  }

  destroy(): void {
    this.resizeObserver.disconnect();
    this.darkScheme.removeEventListener('change', this.redrawInScheme);
    this.plot?.destroy();
    this.plot = null;
  }

  private toolbar(): HTMLElement {
    const { title, smoothing } = this.options;
    const controls: HTMLElement[] = [];
    if (smoothing) {
      const slider = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: this.smoothing, 'aria-label': `${title}: smoothing` });
      const shown = h('output', {}, this.smoothing.toFixed(2));
      slider.addEventListener('input', () => {
        this.smoothing = Number(slider.value);
        shown.textContent = this.smoothing.toFixed(2);
        this.draw();
      });
      controls.push(h('label', { class: 'chart-control' }, 'Smoothing ', slider, shown));
    }
    const log = h('input', { type: 'checkbox', checked: this.logY });
    log.addEventListener('change', () => {
      this.logY = log.checked;
      this.draw();
    });
    controls.push(h('label', { class: 'chart-control choice' }, log, 'Log scale'));
    const button = (label: string, name: string, action: () => void) => {
      const element = h('button', { type: 'button', class: 'secondary small', 'aria-label': `${title}: ${name}` }, label);
      element.addEventListener('click', action);
      return element;
    };
    controls.push(
      button('Reset zoom', 'reset zoom', () => this.plot?.setData(this.plot.data, true)),
      button('CSV', 'download CSV', () => this.downloadCsv()),
      button('PNG', 'download PNG', () => this.downloadPng()));
    return h('div', { class: 'chart-tools' }, ...controls);
  }

  /**
   * The curves as drawn: smoothed where the slider applies, over a faint copy of the raw values,
   * and without the points a log axis cannot show.
   */
  private series(): { drawn: Curve[]; data: uPlot.AlignedData } {
    const drawn = this.curves.filter((curve) => curve.points.length > 0).flatMap((curve) => (curve.smoothable && this.smoothing > 0
      ? [{ ...curve, label: `${curve.label} (raw)`, smoothable: false, style: { ...curve.style, width: 1, faint: true } }, curve]
      : [curve]));
    if (drawn.length === 0) return { drawn, data: [[]] };
    const data = uPlot.join(drawn.map((curve) => {
      const ys = curve.points.map(([, y]) => y);
      const shown = curve.smoothable ? smooth(ys, this.smoothing) : ys;
      return [curve.points.map(([x]) => x), shown.map((y) => (Number.isFinite(y) && (!this.logY || y > 0) ? y : null))];
    }));
    return { drawn, data };
  }

  private draw(): void {
    const { drawn, data } = this.series();
    if (drawn.length === 0) {
      this.plot?.destroy();
      this.plot = null;
      this.plotKey = '';
      this.container.replaceChildren(h('p', { class: 'chart-empty' }, `${this.options.title}: no points yet`));
    } else {
      const key = [this.logY, ...drawn.map((curve) => curve.label)].join('\n');
      if (this.plot && key === this.plotKey) {
        this.plot.setData(data);
      } else {
        this.plot?.destroy();
        this.container.replaceChildren();
        this.plotKey = key;
        this.plot = new uPlot(this.plotOptions(drawn), data, this.container);
      }
    }
    if (this.tableHolder.open) this.drawTable();
  }

  private labels(): string[] {
    return [this.options.xLabel, ...this.series().drawn.map((curve) => curve.label)];
  }

  private drawTable(): void {
    if (!this.tableHolder.open) return;
    const { data } = this.series();
    const rows = data[0].length;
    const every = Math.max(1, Math.ceil(rows / TABLE_ROWS));
    const kept = Array.from({ length: rows }, (_, i) => i).filter((i) => i % every === 0 || i === rows - 1);
    const cell = (value: number | null | undefined) => (value === null || value === undefined ? '–' : formatNumber(value));
    show(this.tableHolder, this.tableHolder.firstElementChild,
      every > 1 && h('p', { class: 'hint' }, `Every ${every}th of ${rows} rows; the CSV has them all.`),
      h('div', { class: 'table-scroll chart-table', tabindex: 0, role: 'region', 'aria-label': `${this.options.title} data` }, h('table', {},
        h('thead', {}, h('tr', {}, ...this.labels().map((label) => h('th', { scope: 'col', class: 'number' }, label)))),
        h('tbody', {}, ...kept.map((i) => h('tr', {}, ...data.map((column) => h('td', { class: 'number' }, cell(column[i])))))))));
  }

  private downloadCsv(): void {
    const { data } = this.series();
    const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
    const lines = [this.labels().map(quote).join(',')];
    for (let i = 0; i < data[0].length; i++) lines.push(data.map((column) => column[i] ?? '').join(','));
    download(`${fileName(this.options.title)}.csv`, URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' })));
  }

  /** The plot on the page's paper colour, so the PNG is readable outside the page. */
  private downloadPng(): void {
    if (!this.plot) return;
    const source = this.plot.ctx.canvas;
    const canvas = h('canvas', { width: source.width, height: source.height });
    const context = canvas.getContext('2d')!;
    context.fillStyle = getComputedStyle(this.element).getPropertyValue('--paper').trim() || '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(source, 0, 0);
    download(`${fileName(this.options.title)}.png`, canvas.toDataURL('image/png'));
  }

  private width(): number {
    return Math.max(MIN_CHART_WIDTH_PX, this.element.clientWidth);
  }

  private plotOptions(curves: Curve[]): uPlot.Options {
    const { title, xLabel, yLabel, fraction = false, syncKey, logX = false } = this.options;
    const formatY = (value: number): string => (fraction ? `${(value * 100).toFixed(1)}%` : formatNumber(value));
    const ink = getComputedStyle(this.element).getPropertyValue('--ink').trim() || '#1d2430';
    const grid = getComputedStyle(this.element).getPropertyValue('--line').trim() || '#d5dae1';
    const axisColours = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      title,
      width: this.width(),
      height: CHART_HEIGHT_PX,
      cursor: syncKey ? { sync: { key: syncKey } } : {},
      scales: {
        x: logX
          ? { time: false, distr: 3, range: (_plot, min, max) => logRange(min, max) }
          // At least one whole epoch: the ticks are whole epochs, and a run that failed in its first has no whole one.
          : { time: false, range: (_plot, _min, max) => [0, Math.max(this.xMax ?? max, max, 1)] },
        y: this.logY
          ? { distr: 3, range: (_plot, min, max) => logRange(min, max) }
          : { range: (_plot, min, max) => linearRange(min, max, fraction) },
      },
      axes: [
        { label: xLabel, ...(logX ? { values: (_plot, splits) => splits.map((value) => (value === null ? '' : formatNumber(value))) } : { incrs: EPOCH_TICKS }), ...axisColours },
        { label: this.logY ? `${yLabel} (log scale)` : yLabel, size: 60, values: (_plot, splits) => splits.map((value) => (value === null ? '' : formatY(value))), ...axisColours },
      ],
      series: [
        { label: xLabel, value: (_plot, value) => (value === null ? '–' : formatNumber(value)) },
        ...curves.map((curve): uPlot.Series => ({
          label: curve.label,
          stroke: stroke(curve.style, this.element),
          dash: curve.style.dash,
          width: curve.style.width,
          spanGaps: true,
          value: (_plot, value) => (value === null ? '–' : formatY(value)),
          // Marked points are drawn while there is room for them; uPlot leaves them out on dense curves.
          points: curve.style.points ? { size: 7, fill: paintable(curve.style.colour, this.element) } : { show: false },
        })),
      ],
      legend: { live: true, markers: { width: 3, dash: (_plot, index) => legendDash(curves[index - 1]?.style.dash ?? []) } },
    };
  }
}
