// Runtime checks for events.jsonl lines. The trainer is validated against the full schema in its
// own tests; here only the envelope is checked so that an event type added later still flows
// through (and is ignored by consumers that do not know it) instead of stopping the reader.
import type { RunEvent } from './generated/events';

export type { RunEvent } from './generated/events';
export type {
  CheckpointEvent,
  ErrorEvent,
  EvalEvent,
  GenerationEvent,
  LogEvent,
  RunFinishedEvent,
  RunStartedEvent,
  TrainEvent,
} from './generated/events';

export function isRunEvent(value: unknown): value is RunEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const e = value as Record<string, unknown>;
  return (
    e.v === 1 &&
    Number.isInteger(e.seq) &&
    (e.seq as number) >= 0 &&
    typeof e.time === 'number' &&
    Number.isFinite(e.time) &&
    typeof e.type === 'string' &&
    (e.step === undefined || (Number.isInteger(e.step) && (e.step as number) >= 0))
  );
}
