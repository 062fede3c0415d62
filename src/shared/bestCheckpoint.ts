// Which evaluation of a run is the best so far, and which checkpoint holds it, read from its events
// alone: the Runs view (src/views) and the dashboard (webview/dashboard) ask the same question of the
// same events. The trainer (trainer/sft_studio/train/best_model.py) decides: eval events carry `best` when
// they improved metric_for_best_model, checkpoint events carry `best` when they hold those weights,
// and run_finished names the final answer. An eval without the flag (a trainer from before it) is
// compared here with the rule the trainer uses, read from the run's config.
import type { RunEvent } from '../protocol/events';

export interface BestEvaluation {
  step: number;
  /** metric_for_best_model without its eval_ prefix, e.g. `loss`. */
  metric: string;
  /** The metric's value at `step`, when the events carry it. */
  value?: number;
  /** The checkpoint folder holding these weights, relative to the run folder, once written. */
  checkpoint?: string;
  /** run_finished said so: the run is over and this is its answer. */
  final: boolean;
}

export interface BestRule {
  metric: string;
  greaterIsBetter: boolean;
  /** An evaluation improves only when it beats the best by more than this. */
  threshold: number;
}

/** Metrics where a smaller value is better (best_model.py LOWER_IS_BETTER). */
const LOWER_IS_BETTER = new Set(['loss', 'perplexity']);

/** `eval_loss` and `loss` name the same metric. */
export function metricKey(name: string): string {
  return name.startsWith('eval_') ? name.slice('eval_'.length) : name;
}

/** The trainer's rule for a resolved config (BestTracker.from_config), or undefined when it tracks no best. */
export function bestRuleOf(config: unknown): BestRule | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const c = config as Record<string, unknown>;
  const named = typeof c.metric_for_best_model === 'string' && c.metric_for_best_model !== '' ? c.metric_for_best_model : undefined;
  const wanted = named !== undefined || c.load_best_model_at_end === true || (typeof c.early_stopping_patience === 'number' && c.early_stopping_patience > 0) || c.save_strategy === 'best';
  if (!wanted) return undefined;
  const metric = metricKey(named ?? 'loss');
  const greaterIsBetter = typeof c.greater_is_better === 'boolean' ? c.greater_is_better : !LOWER_IS_BETTER.has(metric);
  const threshold = typeof c.early_stopping_threshold === 'number' && Number.isFinite(c.early_stopping_threshold) ? c.early_stopping_threshold : 0;
  return { metric, greaterIsBetter, threshold };
}

/** Whether `value` beats `best` under `rule` (best_model.py BestTracker._improves). */
export function improves(rule: BestRule, value: number, best: number | undefined): boolean {
  if (best === undefined) return true;
  const margin = rule.greaterIsBetter ? value - best : best - value;
  return margin > rule.threshold;
}

/** The step of a checkpoint folder named like the trainer names them (`checkpoints/step-N`). */
export function checkpointStepOf(folder: string): number | undefined {
  const match = /(?:^|[\\/])step-(\d+)$/.exec(folder);
  return match ? Number(match[1]) : undefined;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const step = (v: unknown): number | undefined => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);

/**
 * Follows a run's events in order (they arrive in pieces while it trains) and says what the best
 * evaluation is after each piece. A resumed run (run_started with resumed_from) drops what came after
 * the checkpoint it resumed from: those steps are trained again, and the trainer's own record of the
 * best is the one in that checkpoint.
 */
export class BestFollower {
  private rule: BestRule | undefined;
  /** metric_for_best_model as the config names it, also when only flags (no rule) say there is a best. */
  private metric = 'loss';
  /** Evaluations that were a new best, oldest first. */
  private improvements: { step: number; value?: number }[] = [];
  private checkpoints: { step: number; path: string }[] = [];
  private finished: BestEvaluation | undefined;

  observe(events: readonly RunEvent[]): void {
    for (const event of events) this.observeOne(event as RunEvent & Record<string, unknown>);
  }

  get best(): BestEvaluation | undefined {
    if (this.finished) return this.finished;
    const last = this.improvements.at(-1);
    if (!last) return undefined;
    const checkpoint = [...this.checkpoints].reverse().find((c) => c.step === last.step)?.path;
    return { step: last.step, metric: this.metric, value: last.value, checkpoint, final: false };
  }

  private observeOne(e: RunEvent & Record<string, unknown>): void {
    switch (e.type) {
      case 'run_started': {
        this.rule = bestRuleOf(e.config);
        const named = (e.config as Record<string, unknown> | undefined)?.metric_for_best_model;
        this.metric = this.rule?.metric ?? (typeof named === 'string' && named ? metricKey(named) : 'loss');
        this.finished = undefined;
        const from = typeof e.resumed_from === 'string' ? checkpointStepOf(e.resumed_from) : undefined;
        if (from !== undefined) {
          this.improvements = this.improvements.filter((i) => i.step <= from);
          this.checkpoints = this.checkpoints.filter((c) => c.step <= from);
        }
        break;
      }
      case 'eval': {
        const at = step(e.step);
        // Step 0 evaluates the base model: never a candidate.
        if (at === undefined || at === 0) return;
        // An evaluation logged again (after a resume) replaces the earlier one at that step.
        this.improvements = this.improvements.filter((i) => i.step < at);
        const value = num(e[this.metric]);
        const improved =
          typeof e.best === 'boolean' ? e.best : this.rule !== undefined && value !== undefined && improves(this.rule, value, this.improvements.at(-1)?.value);
        if (improved) this.improvements.push({ step: at, value });
        break;
      }
      case 'checkpoint': {
        const at = step(e.step);
        if (at !== undefined && e.best === true && typeof e.path === 'string') this.checkpoints.push({ step: at, path: e.path });
        break;
      }
      case 'run_finished': {
        const at = step(e.best_step);
        if (at === undefined) return;
        this.finished = {
          step: at,
          metric: typeof e.metric_for_best_model === 'string' ? metricKey(e.metric_for_best_model) : this.metric,
          value: num(e.best_metric),
          checkpoint: typeof e.best_checkpoint === 'string' ? e.best_checkpoint : undefined,
          final: true,
        };
        break;
      }
    }
  }
}

/** The best evaluation of a run's events (see BestFollower). */
export function bestOfEvents(events: readonly RunEvent[]): BestEvaluation | undefined {
  const follower = new BestFollower();
  follower.observe(events);
  return follower.best;
}

/** One line for tooltips and labels: `loss 0.6207 at step 12`. */
export function bestText(best: BestEvaluation): string {
  const value = best.value === undefined ? '' : ` ${Number(best.value.toPrecision(4))}`;
  return `${best.metric}${value} at step ${best.step}`;
}
