import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el, themeColor } from '../ui/dom';
import type { ChartMarker } from './chartMarker';
import { logRange, positiveOnly } from './logScale';

export type { ChartMarker };
import type { Column } from './runMetrics';

const HEIGHT = 240;
const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000];
/** Charts with the same key share the cursor: hovering one shows the same x in all of them. */
const CURSOR_SYNC = 'sft-studio-dashboard';
/** Pixels a marker's label needs right of its line; closer to the edge it goes to the left. */
const LABEL_ROOM = 120;
/** Pixels between two y labels of a log axis. */
const MIN_LABEL_GAP = 18;

export interface ChartSeries {
  label: string;
  color: string;
  /**
   * CSS pixels; 1 unless a series must stand out. A 1 px line is a hairline, which Chromium's software
   * rasteriser (a machine without GPU raster) draws on a fast path; a 1.5-2 px anti-aliased stroke is
   * rasterised on the page's main thread when the frame is committed: with four charts following a fast
   * run, 25-40 ms per frame (557 ms per 5 s) against 115 ms per 5 s at 1 px (bench/README.md).
   */
  width?: number;
  /** Faint raw line under its smoothed version. */
  faint?: boolean;
  dash?: number[];
  points?: boolean;
}

export interface ChartContent {
  series: ChartSeries[];
  /** [x, ...one column per series]. */
  data: Column[];
  /** Points that count as "drawn" for this chart (mirrored in data-points for tests and screen readers). */
  points: number;
  markers?: ChartMarker[];
}

export interface ChartOptions {
  id: string;
  title: string;
  xLabel: () => string;
  /** Integer-only x ticks (steps). */
  integerX: () => boolean;
  format: (value: number) => string;
  formatX: (value: number) => string;
  build: () => ChartContent;
  /** The visible x range changed by the user (zoom, pan, reset); xRange() says what is shown now. */
  onView?: () => void;
  /** Start with a logarithmic y axis. */
  logScale?: boolean;
  /** Controls shown next to the chart's title (e.g. its log-scale toggle). */
  controls?: HTMLElement[];
}

/**
 * A uPlot chart that redraws at most once per animation frame, however many updates arrive in it
 * (a hidden page gets no frames and needs no drawing; it draws when shown). Zoom: drag across, or
 * Ctrl+wheel; pan: Shift+drag or ←/→ when focused; reset: double-click, 0 or Escape. The legend
 * reads out every series at the cursor. On a logarithmic y axis, values at or below zero have no place
 * and are left out (the line spans the gap); data-skipped says how many.
 */
export class MetricChart {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private plot: uPlot | undefined;
  private seriesKey = '';
  private pending = false;
  private zoomed = false;
  private log: boolean;
  private markers: ChartMarker[] = [];
  private markerLayer: HTMLElement | undefined;
  /** What the last draw showed (contentSignature): an unchanged chart is not drawn again. */
  private drawn = '';

  constructor(private readonly options: ChartOptions) {
    this.log = options.logScale ?? false;
    this.body = el('div', {
      id: options.id,
      className: 'chart',
      attributes: {
        'data-points': '0',
        role: 'img',
        tabindex: '0',
        'aria-label': `${options.title} chart. Drag to zoom, Shift+drag or arrow keys to pan, 0 to reset.`,
      },
    });
    this.element = el('section', { className: 'chart-card' }, [
      el('div', { className: 'chart-head' }, [el('h2', { text: options.title }), ...(options.controls ?? [])]),
      this.body,
    ]);
    new ResizeObserver(() => this.resize()).observe(this.body);
    this.body.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** Schedules a redraw; many calls in one frame cost one. */
  update(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      if (this.pending) this.flush();
    });
  }

  get logScale(): boolean {
    return this.log;
  }

  /** Switches the y axis between linear and logarithmic; the chart is built again. */
  setLogScale(on: boolean): void {
    if (on === this.log) return;
    this.log = on;
    this.flush(true);
  }

  /** The y scale as drawn (for tests): its distribution (1 linear, 3 logarithmic) and range. */
  yScale(): { distr: number; min: number | null; max: number | null } | undefined {
    const y = this.plot?.scales.y;
    return y ? { distr: y.distr ?? 1, min: y.min ?? null, max: y.max ?? null } : undefined;
  }

  get isZoomed(): boolean {
    return this.zoomed;
  }

  /** The x range in view, while zoomed. */
  xRange(): { min: number; max: number } | undefined {
    const { min, max } = this.plot?.scales.x ?? {};
    return this.zoomed && min !== undefined && max !== undefined && min !== null && max !== null ? { min, max } : undefined;
  }

  /**
   * Draws in the caller's animation frame (the dashboard's one frame per batch of messages) unless the
   * chart would show what it shows already: a live run changes a few charts per message, and every
   * canvas drawn again is copied into the browser's next commit.
   */
  drawIfChanged(): void {
    this.flush(false, true);
  }

  /** Redraws now (theme change, axis change, tests and benchmarks); returns the milliseconds it took. */
  flush(rebuild = false, unlessSame = false): number {
    const started = performance.now();
    this.pending = false;
    const content = this.options.build();
    const key = `${this.options.xLabel()}|${content.series.map((s) => `${s.label}/${s.color}`).join('|')}`;
    const signature = contentSignature(content);
    if (unlessSame && this.plot && !rebuild && key === this.seriesKey && signature === this.drawn) return performance.now() - started;
    this.drawn = signature;
    const { data, skipped } = this.log ? positiveOnly(content.data) : { data: content.data, skipped: 0 };
    this.markers = content.markers ?? [];
    if (!this.plot || rebuild || key !== this.seriesKey) {
      this.seriesKey = key;
      this.create(content, data);
    } else {
      this.plot.setData(data as unknown as uPlot.AlignedData, !this.zoomed);
    }
    this.body.setAttribute('data-points', String(content.points));
    this.body.setAttribute('data-scale', this.log ? 'log' : 'linear');
    this.body.setAttribute('data-skipped', String(skipped));
    this.body.setAttribute('data-markers', this.markers.map((m) => m.key).join(' '));
    const marked = this.markers.map((m) => m.title).join('; ');
    this.body.setAttribute('aria-label', `${this.options.title} chart${this.log ? ', logarithmic y axis' : ''}.${marked ? ` ${marked}.` : ''} Drag to zoom, Shift+drag or arrow keys to pan, 0 to reset.`);
    // The newest x drawn, for tests and the editor-scale benchmark (rows held differ from steps once sampled).
    const x = content.data[0];
    this.body.setAttribute('data-x-max', x.length > 0 ? String(x[x.length - 1]) : '');
    this.element.hidden = content.series.length === 0;
    return performance.now() - started;
  }

  private create(content: ChartContent, data: Column[]): void {
    this.plot?.destroy();
    this.zoomed = false;
    const foreground = themeColor('foreground', '#cccccc');
    const grid = themeColor('editorWidget-border', 'rgba(128,128,128,0.25)');
    const axis = { stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const { format, formatX } = this.options;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        scales: { x: { time: false }, y: this.log ? { distr: 3, log: 10, range: (_u, min, max) => logRange(min, max) } : {} },
        axes: [
          {
            ...axis,
            label: this.options.xLabel(),
            ...(this.options.integerX() ? { incrs: STEP_INCREMENTS } : {}),
            values: (_u, ticks) => ticks.map(formatX),
          },
          { ...axis, values: (u, ticks) => (this.log ? spacedLabels(u, ticks, format) : ticks.map(format)), size: 60 },
        ],
        series: [
          { label: this.options.xLabel(), value: (_u, v) => (v === null ? '–' : formatX(v)) },
          ...content.series.map((s) => ({
            label: s.label,
            stroke: s.faint ? withAlpha(s.color, 0.35) : s.color,
            width: s.width ?? 1,
            dash: s.dash,
            spanGaps: true,
            points: s.points ? { show: true, size: 6 } : { show: false },
            value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
          })),
        ],
        legend: { show: true, live: true },
        cursor: { drag: { x: true, y: false }, sync: { key: CURSOR_SYNC } },
        hooks: {
          setSelect: [() => (this.zoomed = true)],
          setScale: [
            (_u, key) => {
              if (key === 'x' && this.zoomed) this.options.onView?.();
            },
          ],
          draw: [(u) => this.placeMarkers(u)],
        },
      },
      data as unknown as uPlot.AlignedData,
      this.body,
    );
    this.markerLayer = el('div', { className: 'chart-markers' });
    this.plot.over.append(this.markerLayer);
    this.placeMarkers(this.plot);
    this.plot.over.addEventListener('dblclick', () => {
      this.zoomed = false;
      this.options.onView?.();
    });
    this.enablePanAndWheel(this.plot);
  }

  /** Markers are elements over the plot, placed again after every draw (new data, zoom, resize). */
  private placeMarkers(u: uPlot): void {
    const layer = this.markerLayer;
    if (!layer) return;
    const width = u.over.clientWidth;
    const height = u.over.clientHeight;
    const shown: HTMLElement[] = [];
    for (const m of this.markers) {
      const left = u.valToPos(m.x, 'x');
      if (!Number.isFinite(left) || left < 0 || left > width) continue;
      const marker = el('div', { className: 'chart-marker', title: m.title, attributes: { 'data-key': m.key } }, [
        el('span', { className: 'chart-marker-label', text: m.label }),
      ]);
      marker.style.left = `${left}px`;
      marker.classList.toggle('at-end', left > width - LABEL_ROOM);
      marker.style.setProperty('--marker-color', m.color);
      const y = m.y === undefined || (this.log && m.y <= 0) ? undefined : u.valToPos(m.y, 'y');
      if (y !== undefined && Number.isFinite(y) && y >= 0 && y <= height) {
        const point = el('span', { className: 'chart-marker-point' });
        point.style.top = `${y}px`;
        marker.append(point);
      }
      shown.push(marker);
    }
    layer.replaceChildren(...shown);
  }

  private enablePanAndWheel(plot: uPlot): void {
    plot.over.addEventListener('mousedown', (down) => {
      if (!down.shiftKey) return;
      down.preventDefault();
      down.stopPropagation();
      const { min, max } = plot.scales.x;
      if (min === undefined || max === undefined) return;
      const perPixel = (max - min) / plot.over.clientWidth;
      const move = (e: MouseEvent) => this.setX(min - (e.clientX - down.clientX) * perPixel, max - (e.clientX - down.clientX) * perPixel);
      const up = () => {
        window.removeEventListener('mousemove', move);
        window.removeEventListener('mouseup', up);
      };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    }, { capture: true });
    plot.over.addEventListener('wheel', (e) => {
      if (!e.ctrlKey) return;
      e.preventDefault();
      const { min, max } = plot.scales.x;
      if (min === undefined || max === undefined) return;
      const at = plot.posToVal(e.offsetX, 'x');
      const factor = e.deltaY < 0 ? 0.8 : 1.25;
      this.setX(at - (at - min) * factor, at + (max - at) * factor);
    }, { passive: false });
  }

  private onKey(e: KeyboardEvent): void {
    const plot = this.plot;
    if (!plot) return;
    const { min, max } = plot.scales.x;
    if (min === undefined || max === undefined) return;
    const span = max - min;
    const actions: Record<string, () => void> = {
      ArrowLeft: () => this.setX(min - span * 0.1, max - span * 0.1),
      ArrowRight: () => this.setX(min + span * 0.1, max + span * 0.1),
      '+': () => this.setX(min + span * 0.1, max - span * 0.1),
      '=': () => this.setX(min + span * 0.1, max - span * 0.1),
      '-': () => this.setX(min - span * 0.125, max + span * 0.125),
      '0': () => this.resetZoom(),
      Escape: () => this.resetZoom(),
    };
    const action = actions[e.key];
    if (action) {
      e.preventDefault();
      action();
    }
  }

  private setX(min: number, max: number): void {
    this.zoomed = true;
    this.plot?.setScale('x', { min, max });
  }

  private resetZoom(): void {
    this.zoomed = false;
    this.options.onView?.();
    this.flush();
    const x = this.plot?.data[0];
    if (this.plot && x && x.length > 0) this.plot.setScale('x', { min: x[0] as number, max: x[x.length - 1] as number });
  }

  private width(): number {
    return Math.max(240, this.body.clientWidth || 480);
  }

  private resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }
}

/** A log axis ticks every mantissa of a decade: only labels at least MIN_LABEL_GAP pixels apart are written. */
function spacedLabels(u: uPlot, ticks: number[], format: (v: number) => string): string[] {
  let last = Number.NEGATIVE_INFINITY;
  return ticks.map((v) => {
    const y = u.valToPos(v, 'y');
    if (Math.abs(y - last) < MIN_LABEL_GAP) return '';
    last = y;
    return format(v);
  });
}

/** `#rrggbb` (what VS Code's chart colours are) with an alpha; other forms are returned unchanged. */
function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color.trim());
  if (!m) return color;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** What a draw would show, cheaply: counts, each column's ends, the markers. Rows are only appended,
 * compacted (the count changes) or refined (the count changes), so equal signatures mean equal charts. */
function contentSignature(content: ChartContent): string {
  const columns = content.data.map((c) => (c.length === 0 ? '-' : `${c.length}:${c[0]}~${c[c.length - 1]}`));
  const markers = (content.markers ?? []).map((m) => `${m.key}@${m.x},${m.y}:${m.label}:${m.title}:${m.color}`);
  return `${content.points}|${content.series.length}|${columns.join('|')}|${markers.join('|')}`;
}
