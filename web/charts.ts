import uPlot from 'uplot';
import { formatNumber } from './dom.js';

/** How a line looks. Every line differs from the others by its dash pattern too, so colour is never the only cue. */
export interface LineStyle {
  colour: string;
  dash: number[];
  width: number;
  points: boolean;
}

export interface Curve {
  label: string;
  /** [x, y] pairs in increasing x; a non-finite y (a diverged loss) leaves a gap. */
  points: [number, number][];
  style: LineStyle;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Loss spans orders of magnitude: plot it on a log scale. */
  logY?: boolean;
  /** Accuracy: a 0..1 axis labelled in percent. */
  fraction?: boolean;
}

/** Okabe–Ito colours, told apart by people with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const DASHES = [[], [10, 5], [2, 4], [12, 4, 2, 4], [6, 3], [1, 2], [16, 6]];

/** The nth distinct look: colour and dash pattern both change with n. */
export function lineStyle(n: number, overrides: Partial<LineStyle> = {}): LineStyle {
  return { colour: PALETTE[n % PALETTE.length], dash: DASHES[n % DASHES.length], width: 2, points: false, ...overrides };
}

/** CSS for a legend swatch drawn in a line's colour and dash (an SVG line, so the pattern shows). */
export function swatch(style: LineStyle): HTMLElement {
  const svgNamespace = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNamespace, 'svg');
  svg.setAttribute('width', '36');
  svg.setAttribute('height', '10');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(svgNamespace, 'line');
  for (const [name, value] of Object.entries({ x1: 0, y1: 5, x2: 36, y2: 5, stroke: style.colour, 'stroke-width': 3, 'stroke-dasharray': style.dash.join(' ') })) {
    line.setAttribute(name, String(value));
  }
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

/**
 * A log axis from the decade below the lowest point to just above the highest. uPlot's default
 * snaps the top to a decade too, leaving much of the height empty; the bottom must stay a power
 * of ten, because uPlot's log tick placement steps up from it and never ends otherwise.
 */
function logRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || min <= 0) return [0.1, 10];
  return [10 ** Math.floor(Math.log10(min)), max * LOG_HEADROOM];
}
const MIN_CHART_WIDTH_PX = 260;

/**
 * A uPlot line chart that follows its container's width. Curves with different x values
 * share one chart: uPlot.join aligns them, and spanGaps draws each line across the others' x.
 */
export class LineChart {
  readonly element = document.createElement('figure');
  private readonly container = document.createElement('div');
  private plot: uPlot | null = null;
  private seriesKey = '';
  /** The x axis runs from 0 to here when set (a run's planned epochs), so a live curve grows to the right. */
  private xMax: number | null = null;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly options: ChartOptions) {
    this.element.className = 'chart';
    this.element.setAttribute('aria-label', `${options.title}: ${options.yLabel} against ${options.xLabel}`);
    this.element.append(this.container);
    this.resizeObserver = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: CHART_HEIGHT_PX }));
    this.resizeObserver.observe(this.element);
  }

  update(curves: Curve[], xMax: number | null = null): void {
    this.xMax = xMax;
    const drawn = curves.filter((curve) => curve.points.length > 0);
    if (drawn.length === 0) {
      this.plot?.destroy();
      this.plot = null;
      this.seriesKey = '';
      this.container.replaceChildren(Object.assign(document.createElement('p'), { className: 'chart-empty', textContent: `${this.options.title}: no points yet` }));
      return;
    }
    const data = uPlot.join(drawn.map((curve) => [
      curve.points.map(([x]) => x),
      curve.points.map(([, y]) => (Number.isFinite(y) && (!this.options.logY || y > 0) ? y : null)),
    ]));
    const key = drawn.map((curve) => curve.label).join('\n');
    if (this.plot && key === this.seriesKey) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.container.replaceChildren();
    this.seriesKey = key;
    this.plot = new uPlot(this.plotOptions(drawn), data, this.container);
  }

  destroy(): void {
    this.resizeObserver.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private width(): number {
    return Math.max(MIN_CHART_WIDTH_PX, this.element.clientWidth);
  }

  private plotOptions(curves: Curve[]): uPlot.Options {
    const { title, xLabel, yLabel, logY, fraction } = this.options;
    const formatY = (value: number): string => (fraction ? `${(value * 100).toFixed(1)}%` : formatNumber(value));
    return {
      title,
      width: this.width(),
      height: CHART_HEIGHT_PX,
      scales: {
        x: { time: false, range: (_plot, min, max) => (this.xMax === null ? [min, max] : [0, Math.max(this.xMax, max)]) },
        y: logY ? { distr: 3, range: (_plot, min, max) => logRange(min, max) } : fraction ? { range: [0, 1] } : {},
      },
      axes: [
        { label: xLabel },
        { label: yLabel, size: 60, values: (_plot, splits) => splits.map((value) => (value === null ? '' : formatY(value))) },
      ],
      series: [
        { label: xLabel },
        ...curves.map((curve): uPlot.Series => ({
          label: curve.label,
          stroke: curve.style.colour,
          dash: curve.style.dash,
          width: curve.style.width,
          spanGaps: true,
          // Marked points are drawn while there is room for them; uPlot leaves them out on dense curves.
          points: curve.style.points ? { size: 7, fill: curve.style.colour } : { show: false },
        })),
      ],
      legend: { live: false, markers: { width: 3, dash: (_plot, index) => legendDash(curves[index - 1]?.style.dash ?? []) } },
    };
  }
}
