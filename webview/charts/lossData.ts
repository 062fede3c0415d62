import type { RunEvent } from '../../src/protocol/events';

/** uPlot's aligned columns: x (step), train loss, eval loss (null where a series has no point). */
export type AlignedLoss = [number[], (number | null)[], (number | null)[]];

/**
 * Loss per step for the chart. Keyed by step so a resumed run that re-logs steps after its
 * checkpoint replaces those points instead of drawing the line backwards.
 */
export class LossData {
  private readonly train = new Map<number, number>();
  private readonly evaluation = new Map<number, number>();

  add(events: readonly RunEvent[]): boolean {
    let changed = false;
    for (const event of events) {
      if (event.step === undefined) continue;
      if (event.type === 'train' && Number.isFinite(event.loss)) {
        this.train.set(event.step, event.loss);
        changed = true;
      } else if (event.type === 'eval' && Number.isFinite(event.loss)) {
        this.evaluation.set(event.step, event.loss);
        changed = true;
      }
    }
    return changed;
  }

  clear(): void {
    this.train.clear();
    this.evaluation.clear();
  }

  get trainPoints(): number {
    return this.train.size;
  }

  get evalPoints(): number {
    return this.evaluation.size;
  }

  aligned(): AlignedLoss {
    const steps = [...new Set([...this.train.keys(), ...this.evaluation.keys()])].sort((a, b) => a - b);
    return [steps, steps.map((s) => this.train.get(s) ?? null), steps.map((s) => this.evaluation.get(s) ?? null)];
  }
}
