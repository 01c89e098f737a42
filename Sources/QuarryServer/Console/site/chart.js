// A small SVG bar chart (bars for one series, an optional line for a second one on its own
// scale), built with createElementNS: no charting library, nothing parsed from strings.

import { svg } from '/console/dom.js';

const WIDTH = 760;
const HEIGHT = 240;
const MARGIN = { top: 14, right: 56, bottom: 30, left: 56 };

/**
 * @param {{
 *   bars: {label: string, value: number, title: string}[],
 *   line?: number[],
 *   ariaLabel: string,
 *   formatBar: (n: number) => string,
 *   formatLine?: (n: number) => string,
 *   tickEvery?: number,
 * }} spec `bars[i].title` is the tooltip (and accessible name) of bar i; `line[i]` its second value.
 * @returns {SVGSVGElement}
 */
export function barChart({ bars, line, ariaLabel, formatBar, formatLine = String, tickEvery = 7 }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const barMax = niceCeiling(Math.max(0, ...bars.map((b) => b.value)));
  const band = plotWidth / Math.max(1, bars.length);
  const y = (value, max) => MARGIN.top + plotHeight - (max > 0 ? (value / max) * plotHeight : 0);

  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': ariaLabel, class: 'bar-chart' },
    svg('title', {}, ariaLabel));

  // Grid and left axis: 0, half and the top of the bar scale.
  for (const fraction of [0, 0.5, 1]) {
    const value = barMax * fraction;
    const at = y(value, barMax);
    chart.append(
      svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: at, y2: at, class: fraction ? 'grid' : 'axis' }),
      svg('text', { x: MARGIN.left - 6, y: at + 4, 'text-anchor': 'end', class: 'tick' }, formatBar(value)));
  }

  bars.forEach((bar, i) => {
    const x = MARGIN.left + i * band + band * 0.15;
    const top = y(bar.value, barMax);
    chart.append(svg('rect', {
      x: x.toFixed(1), y: top.toFixed(1), width: (band * 0.7).toFixed(1),
      height: Math.max(0, MARGIN.top + plotHeight - top).toFixed(1), class: 'bar',
    }, svg('title', {}, bar.title)));
    // Labels counted back from the last bar, so the newest day is always labelled.
    if ((bars.length - 1 - i) % tickEvery === 0) {
      chart.append(svg('text', { x: (x + band * 0.35).toFixed(1), y: HEIGHT - 10, 'text-anchor': 'middle', class: 'tick' }, bar.label));
    }
  });

  if (Array.isArray(line) && line.length === bars.length) {
    const lineMax = niceCeiling(Math.max(0, ...line));
    const points = line.map((value, i) => [MARGIN.left + (i + 0.5) * band, y(value, lineMax)]);
    chart.append(
      svg('polyline', { points: points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' '), class: 'line' }),
      ...points.filter((_, i) => line[i] > 0).map(([px, py]) => svg('circle', { cx: px.toFixed(1), cy: py.toFixed(1), r: 3, class: 'line-point' })),
      svg('text', { x: WIDTH - MARGIN.right + 6, y: y(lineMax, lineMax) + 4, class: 'tick line-tick' }, formatLine(lineMax)),
      svg('text', { x: WIDTH - MARGIN.right + 6, y: y(0, lineMax) + 4, class: 'tick line-tick' }, formatLine(0)));
  }
  return chart;
}

/** A round number at or above `value` (1, 2 or 5 times a power of ten), so axis labels read well. */
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
