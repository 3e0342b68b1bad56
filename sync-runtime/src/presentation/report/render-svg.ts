/**
 * Inline SVG bar charts for the dashboard: no library and no external file, so the dashboard
 * stays one self-contained file. Every bar carries a <title> (a tooltip and a screen-reader
 * label), and each chart a <title>/<desc> summarising it in words.
 */
import { escapeHtml } from "./render-escape";
import { formatCount, truncateToWidth } from "./render-text";

export interface Bar {
  label: string;
  value: number;
  /** Full text for the bar's tooltip, e.g. "Expenses: 120 launches". */
  tooltip: string;
}

export interface ChartText {
  id: string;
  title: string;
  description: string;
  testId: string;
}

const LABEL_WIDTH = 190;
const BAR_AREA = 260;
const VALUE_WIDTH = 60;
const ROW_HEIGHT = 26;
/** The column chart's width in SVG units: about its card's width at 1400 px, so text keeps its size. */
const COLUMN_CHART_WIDTH = 1200;
// Roughly what fits in LABEL_WIDTH at the chart's font size; the tooltip has the full name.
const LABEL_MAX_CHARS = 24;

function barLength(value: number, max: number, area: number): number {
  if (value <= 0 || max <= 0) return 0;
  return Math.max(2, Math.round((value / max) * area));
}

function chartOpen(text: ChartText, width: number, height: number, kind = "chart"): string {
  return (
    `<svg class="${kind}" data-testid="${escapeHtml(text.testId)}" role="img" ` +
    `aria-labelledby="${escapeHtml(text.id)}-title ${escapeHtml(text.id)}-desc" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<title id="${escapeHtml(text.id)}-title">${escapeHtml(text.title)}</title>` +
    `<desc id="${escapeHtml(text.id)}-desc">${escapeHtml(text.description)}</desc>`
  );
}

/** Horizontal bars, one row per item, label on the left and the value after the bar. */
export function horizontalBarChart(bars: readonly Bar[], text: ChartText): string {
  const width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH;
  const height = bars.length * ROW_HEIGHT + 4;
  const max = Math.max(0, ...bars.map((bar) => bar.value));
  const rows = bars.map((bar, index) => {
    const y = index * ROW_HEIGHT + 2;
    const length = barLength(bar.value, max, BAR_AREA);
    const middle = y + ROW_HEIGHT / 2;
    return (
      `<g class="bar" data-testid="chart-bar">` +
      `<title>${escapeHtml(bar.tooltip)}</title>` +
      `<text class="label" x="${LABEL_WIDTH - 8}" y="${middle}" text-anchor="end" dominant-baseline="middle">` +
      `${escapeHtml(truncateToWidth(bar.label, LABEL_MAX_CHARS))}</text>` +
      `<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${length}" height="${ROW_HEIGHT - 8}" rx="3"></rect>` +
      `<text class="value" x="${LABEL_WIDTH + length + 6}" y="${middle}" dominant-baseline="middle">` +
      `${escapeHtml(formatCount(bar.value))}</text>` +
      `</g>`
    );
  });
  return `${chartOpen(text, width, height)}${rows.join("")}</svg>`;
}

/**
 * Value-axis ticks: a step of 1, 2 or 5 times a power of ten, about four of them, the top one at
 * least 5% above the tallest bar so that no bar touches the top of the plot.
 */
export function valueTicks(max: number): number[] {
  const target = Math.max(1, max * 1.05);
  const raw = target / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? power * 10);
  const ticks = [0];
  while (ticks[ticks.length - 1] < target) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

/**
 * Vertical bars over time (one per day), a value axis with grid lines, a date under every few bars.
 * The plot is always COLUMN_CHART_WIDTH units wide, whatever the number of days, and the page
 * stretches it to its card (class "chart wide"): a week's seven bars then spread over the card
 * instead of leaving two thirds of it empty, and a long window's bars get thinner.
 */
export function columnChart(bars: readonly Bar[], text: ChartText): string {
  const plotHeight = 180;
  const axis = 24;
  const top = 12;
  const left = 56;
  const right = 24;
  const width = COLUMN_CHART_WIDTH;
  const slot = (width - left - right) / Math.max(1, bars.length);
  // Bars keep a bar's proportions on short windows: at most 48 units wide, centred in the slot.
  const barWidth = Math.max(1, Math.min(48, slot - 2));
  const height = top + plotHeight + axis;
  const max = Math.max(0, ...bars.map((bar) => bar.value));
  const ticks = valueTicks(max);
  const scaleMax = ticks[ticks.length - 1];
  const yOf = (value: number) => top + plotHeight - (value / scaleMax) * plotHeight;
  const grid = ticks.map((tick) => {
    const y = Math.round(yOf(tick)) + 0.5;
    return (
      `<line class="${tick === 0 ? "baseline" : "grid"}" data-testid="y-grid" x1="${left - 4}" x2="${width}" y1="${y}" y2="${y}"></line>` +
      `<text class="axis" data-testid="y-tick" x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatCount(tick))}</text>`
    );
  });
  // Label about eight dates whatever the window length, so labels never overlap.
  const labelEvery = Math.max(1, Math.ceil(bars.length / 8));
  const columns = bars.map((bar, index) => {
    const length = barLength(bar.value, scaleMax, plotHeight);
    const x = left + index * slot;
    const y = top + plotHeight - length;
    const barX = Math.round((x + (slot - barWidth) / 2) * 10) / 10;
    const label =
      index % labelEvery === 0
        ? `<text class="axis" x="${Math.round((x + slot / 2) * 10) / 10}" y="${top + plotHeight + 16}" text-anchor="middle">${escapeHtml(bar.label)}</text>`
        : "";
    return (
      `<g class="bar" data-testid="chart-bar">` +
      `<title>${escapeHtml(bar.tooltip)}</title>` +
      `<rect x="${barX}" y="${y}" width="${Math.round(barWidth * 10) / 10}" height="${length}" rx="2"></rect>` +
      label +
      `</g>`
    );
  });
  return `${chartOpen(text, width, height, "chart wide")}${grid.join("")}${columns.join("")}</svg>`;
}
