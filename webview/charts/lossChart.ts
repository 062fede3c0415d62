import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el, themeColor } from '../ui/dom';
import type { RunEvent } from '../../src/protocol/events';
import { LossData } from './lossData';

const HEIGHT = 320;
const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000];

/**
 * Train and eval loss against step. Events can arrive hundreds at a time; redraws are batched to
 * one per animation frame (with a timer fallback, since hidden pages get no frames). The number
 * of plotted train points is mirrored in `data-points` so tests can read what is on the canvas.
 */
export class LossChart {
  readonly element: HTMLElement;
  private readonly data = new LossData();
  private plot: uPlot | undefined;
  private pending = false;

  constructor() {
    this.element = el('div', {
      id: 'loss-chart',
      className: 'chart',
      attributes: { 'data-points': '0', 'data-eval-points': '0', role: 'img', 'aria-label': 'Loss by step' },
    });
    new ResizeObserver(() => this.resize()).observe(this.element);
    // VS Code swaps the body class on theme change; colours are read once per chart, so rebuild.
    new MutationObserver(() => this.rebuild()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  reset(events: readonly RunEvent[]): void {
    this.data.clear();
    this.data.add(events);
    this.schedule();
  }

  append(events: readonly RunEvent[]): void {
    if (this.data.add(events)) this.schedule();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => this.flush());
    setTimeout(() => this.flush(), 250);
  }

  private flush(): void {
    if (!this.pending) return;
    this.pending = false;
    if (!this.plot) this.rebuild();
    else this.plot.setData(this.data.aligned());
    this.element.setAttribute('data-points', String(this.data.trainPoints));
    this.element.setAttribute('data-eval-points', String(this.data.evalPoints));
  }

  private rebuild(): void {
    this.plot?.destroy();
    const foreground = themeColor('foreground', '#cccccc');
    const grid = themeColor('editorWidget-border', 'rgba(128,128,128,0.25)');
    const axis = { stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        scales: { x: { time: false } },
        axes: [
          // Steps are whole numbers: no tick at step 1.5.
          { ...axis, label: 'step', incrs: STEP_INCREMENTS },
          { ...axis, label: 'loss' },
        ],
        series: [
          { label: 'step' },
          { label: 'train loss', stroke: themeColor('charts-blue', '#3794ff'), width: 1.5 },
          {
            label: 'eval loss',
            stroke: themeColor('charts-orange', '#d18616'),
            width: 2,
            spanGaps: true,
            points: { show: true, size: 6 },
          },
        ],
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
      },
      this.data.aligned(),
      this.element,
    );
  }

  private width(): number {
    return Math.max(200, this.element.clientWidth || 600);
  }

  private resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }
}
