// A small per-key usage chart: two groups of horizontal bars (requests:
// total/successful/failed; actions: executions/creations/cancellations),
// drawn as SVG with attributes only, so the strict CSP needs no inline style.
import type { UsageStats } from './api';
import { h, num, s } from './dom';

interface Bar {
  label: string;
  value: number;
  cls: string;
}

const W = 320; // viewBox width; the SVG scales to its box
const ROW = 18;
const LABEL = 92;
const VALUE = 52;

function group(title: string, bars: Bar[], y0: number): SVGElement[] {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const track = W - LABEL - VALUE;
  const out: SVGElement[] = [s('text', { x: 0, y: y0 + 11, class: 'chart-title' }, title)];
  bars.forEach((b, i) => {
    const y = y0 + ROW * (i + 1);
    const w = b.value === 0 ? 0 : Math.max(2, Math.round((b.value / max) * track));
    out.push(
      s('text', { x: 0, y: y + 11, class: 'chart-label' }, b.label),
      s('rect', { x: LABEL, y: y + 2, width: track, height: 12, rx: 2, class: 'chart-track' }),
      s('rect', { x: LABEL, y: y + 2, width: w, height: 12, rx: 2, class: `chart-bar ${b.cls}` }),
      s('text', { x: W, y: y + 11, class: 'chart-value', 'text-anchor': 'end' }, num(b.value)),
    );
  });
  return out;
}

export function usageChart(u: UsageStats, keyName: string): HTMLElement {
  const requests: Bar[] = [
    { label: 'Total', value: u.totalRequests, cls: 'bar-total' },
    { label: 'Successes', value: u.successfulRequests, cls: 'bar-ok' },
    { label: 'Failures', value: u.failedRequests, cls: 'bar-fail' },
  ];
  const actions: Bar[] = [
    { label: 'Executions', value: u.executionCount, cls: 'bar-exec' },
    { label: 'Creations', value: u.creationCount, cls: 'bar-create' },
    { label: 'Cancellations', value: u.cancellationCount, cls: 'bar-cancel' },
  ];
  const g2 = ROW * 4 + 6;
  const height = g2 + ROW * 4;
  const summary =
    `Usage of ${keyName}: ${num(u.totalRequests)} requests, ${num(u.successfulRequests)} successful, ` +
    `${num(u.failedRequests)} failed; ${num(u.executionCount)} executions, ${num(u.creationCount)} creations, ` +
    `${num(u.cancellationCount)} cancellations.`;
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': summary, class: 'chart', preserveAspectRatio: 'xMinYMin meet' },
    s('title', {}, summary),
    ...group('Requests', requests, 0),
    ...group('Order actions', actions, g2),
  );
  return h('figure', { class: 'usage' }, svg);
}
