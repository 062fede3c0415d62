// generated, do not edit: produced from schema/run-directory.schema.json by scripts/gen-types.mjs (npm run gen:types)

/**
 * The JSON documents of a run folder that trainer and extension share besides events.jsonl (schema/events.schema.json): status.json ($defs/StatusFile) and each line of control.jsonl ($defs/ControlRequest). See docs/RUN_DIRECTORY.md.
 */
export type RunDirectoryRecord = StatusFile | ControlRequest;

/**
 * status.json: the trainer's state and clocks, rewritten whole (temp file + rename). Writers: the trainer's StatusFile (trainer/sft_studio/run/events.py), a failure before training (events.record_failure), a Slurm submit (state queued, trainer/sft_studio/launch/slurm.py) and the end of a Slurm job the trainer could not record (trainer/sft_studio/launch/slurm_jobs.py, which keeps the other fields as they were). Read by src/runs/runStatus.ts, runStore.ts, stopTargets.ts and trainer/sft_studio/run/run_lock.py, cli.py (resume).
 */
export interface StatusFile {
  /**
   * queued: a Slurm job waiting for its trainer (shown as starting); starting: loading or fetching the model; running: in the training loop; completed, stopped, failed: how the process ended.
   */
  state: 'queued' | 'starting' | 'running' | 'completed' | 'stopped' | 'failed';
  /**
   * Unix s of the last write; a thread refreshes it at least every 5 s while the trainer lives, also while its training loop hangs.
   */
  heartbeat: number;
  /**
   * Unix s the training loop last moved: after each optimizer step, on each forward pass of an evaluation or generation, at the start of a checkpoint save. Written by the trainer only.
   */
  progress?: number;
  /**
   * Unix s the writing process started (for a Slurm submit: when the job was submitted).
   */
  started?: number;
  /**
   * Optimizer steps done.
   */
  step?: number;
  /**
   * Optimizer steps the run will take; 0 until the data is loaded.
   */
  total_steps?: number;
  /**
   * Process id of the writer (rank 0 under torchrun); absent for a Slurm submit. Kept for readers of files written before `process` existed.
   */
  pid?: number;
  /**
   * The trainer process (rank 0 under torchrun): the one a Stop sends SIGINT to when its identity still matches.
   */
  process?: ProcessIdentity;
  /**
   * Under torchrun, the launcher that started the ranks (the process the extension spawned); SIGTERM to it reaches every rank.
   */
  launcher?: ProcessIdentity;
  /**
   * The config's run_name (the config file's stem when it sets none).
   */
  run_name?: string;
  /**
   * Absolute path of the config the run was started from; `train --resume` reads it back. Null only for a Slurm resubmit of a run that never recorded one.
   */
  config_path?: string | null;
}
/**
 * A process as trainer/sft_studio/run/identity.py records it: a pid names a process only together with its host and start time.
 */
export interface ProcessIdentity {
  /**
   * Process id.
   */
  pid: number;
  /**
   * Host name of the machine the process runs on (socket.gethostname()).
   */
  host: string;
  /**
   * Start time of the process: `linux:<boot id>:<start ticks>` from /proc, else `ps:<lstart>` (ps -o lstart= in the C locale and UTC), else null.
   */
  start: string | null;
}
/**
 * One line of control.jsonl, appended by the extension (src/runs/runManager.ts appendControl) and read by every rank between optimizer steps (trainer/sft_studio/run/control.py). Requests older than the trainer's start are ignored.
 */
export interface ControlRequest {
  /**
   * stop: save a checkpoint and end with status stopped; save: write a checkpoint now and go on; generate: run the generation prompts now.
   */
  type: 'stop' | 'save' | 'generate';
  /**
   * Unix s the request was written.
   */
  time: number;
}
