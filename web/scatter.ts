import { formatNumber } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 220;
const MARGIN = { left: 48, right: 12, top: 12, bottom: 36 };
const TICKS = 4;

/** A point of a scatter; `hollow` marks a second kind (a pruned trial) by shape, so colour is never the only cue. */
export interface ScatterPoint {
  x: number | string;
  y: number;
  hollow: boolean;
  label: string;
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** A parameter sampled log-uniformly is read on a log axis. */
  logX: boolean;
  /** A 0..1 axis labelled in percent. */
  fraction: boolean;
}

function node<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Where a number falls on [0, 1] of its axis, linear or log. */
function scale(min: number, max: number, log: boolean): (value: number) => number {
  const f = log ? Math.log : (value: number) => value;
  const [low, high] = [f(min), f(max)];
  return (value) => (high === low ? 0.5 : (f(value) - low) / (high - low));
}

/**
 * A small SVG scatter of a metric against one parameter: numbers on a linear or log axis, anything
 * else (a shape, an optimizer) as evenly spaced categories. Each point has a tooltip naming its trial.
 */
export function scatterPlot(points: ScatterPoint[], options: ScatterOptions): SVGSVGElement {
  const svg = node('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'scatter', 'aria-label': options.title });
  svg.append(node('title', {}, options.title));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const numeric = points.every((point) => typeof point.x === 'number');
  const categories = numeric ? [] : [...new Set(points.map((point) => JSON.stringify(point.x)))];
  const xs = points.map((point) => point.x as number);
  const toX = numeric ? scale(Math.min(...xs), Math.max(...xs), options.logX) : (value: number) => (value + 0.5) / categories.length;
  const ys = points.map((point) => point.y);
  const [yMin, yMax] = options.fraction ? [Math.min(...ys, 1) - 0.02, 1] : [Math.min(...ys), Math.max(...ys)];
  const toY = scale(yMin, yMax, false);
  const px = (fraction: number) => MARGIN.left + fraction * plotWidth;
  const py = (fraction: number) => MARGIN.top + (1 - fraction) * plotHeight;

  svg.append(node('rect', { x: MARGIN.left, y: MARGIN.top, width: plotWidth, height: plotHeight, class: 'scatter-frame' }));
  for (let i = 0; i <= TICKS; i++) {
    const value = yMin + (i / TICKS) * (yMax - yMin);
    svg.append(node('text', { x: MARGIN.left - 4, y: py(i / TICKS) + 4, 'text-anchor': 'end', class: 'scatter-tick' }, options.fraction ? `${(value * 100).toFixed(0)}%` : formatNumber(value)));
  }
  const xTicks = numeric
    ? [Math.min(...xs), Math.max(...xs)].map((value) => ({ at: toX(value), text: formatNumber(value) }))
    : categories.map((category, i) => ({ at: toX(i), text: category.replaceAll('"', '') }));
  for (const tick of xTicks) svg.append(node('text', { x: px(tick.at), y: HEIGHT - MARGIN.bottom + 14, 'text-anchor': 'middle', class: 'scatter-tick' }, tick.text));
  svg.append(node('text', { x: MARGIN.left + plotWidth / 2, y: HEIGHT - 4, 'text-anchor': 'middle', class: 'scatter-label' }, `${options.xLabel}${options.logX ? ' (log)' : ''}`));
  svg.append(node('text', { x: 12, y: MARGIN.top + plotHeight / 2, 'text-anchor': 'middle', class: 'scatter-label', transform: `rotate(-90 12 ${MARGIN.top + plotHeight / 2})` }, options.yLabel));

  for (const point of points) {
    const x = numeric ? toX(point.x as number) : toX(categories.indexOf(JSON.stringify(point.x)));
    const circle = node('circle', { cx: px(x), cy: py(toY(point.y)), r: 5, class: point.hollow ? 'scatter-point hollow' : 'scatter-point' });
    circle.append(node('title', {}, point.label));
    svg.append(circle);
  }
  return svg;
}
