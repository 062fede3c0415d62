// generated, do not edit: produced from schema/events.schema.json by scripts/gen-types.mjs (npm run gen:types)

/**
 * One line of a run's events.jsonl. Written by the trainer (rank 0 only), read by the extension. Append-only, one JSON object per line, flushed per line.
 */
export type RunEvent =
  | RunStartedEvent
  | TrainEvent
  | EvalEvent
  | GenerationEvent
  | CheckpointEvent
  | LogEvent
  | DownloadEvent
  | ErrorEvent
  | RunFinishedEvent;
export type RunStartedEvent = Envelope & {
  type: 'run_started';
  /**
   * The resolved run config (same content as config.resolved.json).
   */
  config: {};
  /**
   * Absolute path of the config file the run was started from.
   */
  config_path?: string;
  /**
   * Optimizer steps the run will take.
   */
  total_steps: number;
  /**
   * Optimizer steps per epoch.
   */
  steps_per_epoch?: number;
  /**
   * Total parameters of the model.
   */
  num_parameters: number;
  /**
   * Parameters that receive gradient updates.
   */
  trainable_parameters: number;
  /**
   * Number of training processes.
   */
  world_size: number;
  /**
   * Device of rank 0, e.g. cpu or cuda:0.
   */
  device: string;
  /**
   * Examples in the training split.
   */
  train_examples?: number;
  /**
   * Examples in the validation split.
   */
  eval_examples?: number;
  /**
   * Training examples cut at max_length.
   */
  truncated_examples?: number;
  /**
   * Training rows left out by excess_length_strategy (no answer token left after truncation, or longer than max_length with drop).
   */
  dropped_examples?: number;
  /**
   * path:line and reason of the first dropped training row.
   */
  first_dropped?: string;
  /**
   * Tokens of the training examples after truncation (before packing).
   */
  train_tokens?: number;
  /**
   * Label positions of the training examples that count in the loss (labels != -100); one per example for classification.
   */
  trained_tokens?: number;
  /**
   * Units micro-batches are cut from: the training examples, or the packed rows when packing is on.
   */
  train_rows?: number;
  /**
   * Checkpoint path the run resumed from, when resumed.
   */
  resumed_from?: string;
  /**
   * Commit of the Hub model the run loaded, when model_name_or_path is a Hub id (also in config.resolved.json).
   */
  model_commit?: string;
};
export type TrainEvent = Envelope & {
  type: 'train';
  /**
   * Fractional epoch reached after this step.
   */
  epoch: number;
  /**
   * Token-weighted mean loss over the whole optimizer step (all micro-batches, all ranks).
   */
  loss: number;
  /**
   * Global gradient L2 norm before clipping.
   */
  grad_norm: number;
  /**
   * Learning rate used for this step.
   */
  learning_rate: number;
  /**
   * Non-padding tokens processed so far in the run (all ranks).
   */
  tokens: number;
  /**
   * Non-padding tokens per second since the previous train event.
   */
  tokens_per_s: number;
  /**
   * Model FLOPs per second since the previous train event, all devices together: 6 x the parameters that multiply activations (all but the input embedding lookup; a tied head counts once) per token plus 12 x layers x attention width x the sum of squared sequence lengths (PaLM's convention; recomputation not counted).
   */
  flops_per_s?: number;
  /**
   * Model FLOPs utilisation: flops_per_s as a fraction of the devices' dense peak for the matmul dtype; only on CUDA devices of known peak.
   */
  mfu?: number;
  /**
   * Peak memory in bytes since the previous train event, when measured (CUDA: torch.cuda.max_memory_allocated on rank 0's device).
   */
  mem_bytes?: number;
  /**
   * Share of NVML's last sample period in which rank 0's GPU was busy (CUDA with pynvml only).
   */
  gpu_utilization?: number;
};
export type EvalEvent = Envelope & {
  type: 'eval';
  /**
   * Fractional epoch at evaluation time.
   */
  epoch?: number;
  /**
   * Token-weighted mean loss on the validation split.
   */
  loss: number;
  /**
   * exp(loss).
   */
  perplexity?: number;
  /**
   * Share of target tokens predicted correctly (argmax).
   */
  token_accuracy: number;
  /**
   * Classification accuracy, for classification tasks.
   */
  accuracy?: number;
  /**
   * Classification tasks: F1 of the positive class (label 1) with two classes, macro F1 over the classes with more.
   */
  f1?: number;
  /**
   * Share of generation prompts with a reference whose greedy completion equals it (after strip).
   */
  exact_match?: number;
  /**
   * True when this evaluation improved metric_for_best_model (runs that track a best checkpoint).
   */
  best?: boolean;
};
export type GenerationEvent = Envelope & {
  type: 'generation';
  /**
   * Stable id of the prompt within the run's prompt set.
   */
  prompt_id: string;
  /**
   * The user prompt, before the chat template.
   */
  prompt: string;
  /**
   * Decoded new text without special tokens, cut at end-of-sequence.
   */
  completion: string;
  /**
   * Expected answer, when the prompt has one (then decoding is greedy).
   */
  reference?: string;
  /**
   * Generation budget.
   */
  max_new_tokens: number;
  /**
   * Sampling temperature (0 = greedy).
   */
  temperature: number;
  /**
   * Nucleus sampling mass.
   */
  top_p: number;
  /**
   * Top-k cut (0 = off).
   */
  top_k?: number;
};
export type CheckpointEvent = Envelope & {
  type: 'checkpoint';
  /**
   * Checkpoint folder, relative to the run directory.
   */
  path: string;
  /**
   * True for the checkpoint written at the end of training.
   */
  final?: boolean;
  /**
   * True when this checkpoint holds the best metric_for_best_model so far (runs that track a best checkpoint).
   */
  best?: boolean;
};
export type LogEvent = Envelope & {
  type: 'log';
  /**
   * Severity.
   */
  level: 'debug' | 'info' | 'warning';
  /**
   * Human-readable text.
   */
  message: string;
};
/**
 * Progress of fetching a Hub model into the Hugging Face cache before the run starts; at most about four per second, the last one with bytes_done = bytes_total. Files already cached are not counted.
 */
export type DownloadEvent = Envelope & {
  type: 'download';
  /**
   * Hub id being fetched, e.g. Qwen/Qwen2.5-0.5B-Instruct.
   */
  model: string;
  /**
   * File being fetched (path inside the repository).
   */
  file: string;
  /**
   * Bytes of the files to fetch that are on disk so far.
   */
  bytes_done: number;
  /**
   * Bytes of all files to fetch.
   */
  bytes_total: number;
  /**
   * Files fetched completely.
   */
  files_done: number;
  /**
   * Files to fetch.
   */
  files_total: number;
};
export type ErrorEvent = Envelope & {
  type: 'error';
  /**
   * What went wrong.
   */
  kind: 'config' | 'data' | 'oom' | 'nan' | 'crash';
  /**
   * What happened, with file:line where one applies.
   */
  message: string;
  /**
   * What to change to fix it.
   */
  hint: string;
};
export type RunFinishedEvent = Envelope & {
  type: 'run_finished';
  /**
   * How the run ended.
   */
  status: 'completed' | 'stopped' | 'failed';
  /**
   * Why training ended: the step budget ran out, early stopping (early_stopping_patience) fired, a stop was requested, or an error.
   */
  reason?: 'end_of_schedule' | 'early_stopped' | 'stop_requested' | 'error';
  /**
   * The run's result, relative to the run directory: the checkpoint written at the end, or the best one with load_best_model_at_end.
   */
  final_checkpoint?: string;
  /**
   * Checkpoint of the last training state, relative to the run directory, when it differs from final_checkpoint (load_best_model_at_end).
   */
  last_checkpoint?: string;
  /**
   * Checkpoint with the best metric_for_best_model, relative to the run directory (runs that track one).
   */
  best_checkpoint?: string;
  /**
   * Step of the best evaluation.
   */
  best_step?: number;
  /**
   * Value of metric_for_best_model at best_step.
   */
  best_metric?: number;
  /**
   * The evaluation metric the best checkpoint was chosen by (without the eval_ prefix).
   */
  metric_for_best_model?: string;
  /**
   * Seconds from run_started to run_finished.
   */
  train_runtime_s?: number;
};

/**
 * Fields every event carries.
 */
export interface Envelope {
  /**
   * Envelope version.
   */
  v: 1;
  /**
   * Sequence number, starting at 0 and increasing by one per event across the whole run (a resumed run continues it).
   */
  seq: number;
  /**
   * Wall-clock time the event was written, in Unix seconds.
   */
  time: number;
  /**
   * Event type; selects the event's other fields.
   */
  type: string;
  /**
   * Optimizer step the event refers to (0 = before the first update).
   */
  step?: number;
}
