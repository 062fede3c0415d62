// generated, do not edit: produced from schema/run-config.schema.json by scripts/gen-types.mjs (npm run gen:types)

/**
 * An SFT Studio run config (*.sft.yaml or *.sft.json). Field names follow Hugging Face TrainingArguments / TRL SFTConfig where one exists.
 */
export interface RunConfig {
  /**
   * The model to fine-tune: a local Hugging Face model folder (config.json, safetensors weights, tokenizer files), relative to the config file's folder, or a Hugging Face Hub id such as Qwen/Qwen2.5-0.5B-Instruct. A value that names an existing folder is that folder; otherwise an org/name value is a Hub id, fetched once into the Hugging Face cache (HF_HOME / HF_HUB_CACHE) with the token set by 'SFT Studio: Set Hugging Face Token' (HF_TOKEN).
   */
  model_name_or_path: string;
  /**
   * Branch, tag or commit of a Hub model_name_or_path. The run records the commit it resolved to in config.resolved.json, and a resume loads that commit. Ignored for a local folder.
   */
  model_revision?: string;
  /**
   * Name of the run; its folder is <output_dir>/<run_name>-<UTC timestamp>. Defaults to the config file's stem.
   */
  run_name?: string;
  /**
   * Parent folder of this config's runs, relative to the config file's folder.
   */
  output_dir?: string;
  /**
   * What is trained: causal_lm = instruction/chat/plain-text supervised fine-tuning of a causal language model; sequence_classification = a classification head on the model (single text or text pair, `num_labels` classes), evaluated with accuracy and F1.
   */
  task?: 'causal_lm' | 'sequence_classification';
  /**
   * Training data, relative to the config file's folder: JSONL (one example per line), JSON (a list of objects), CSV (with a header row), Parquet, or Arrow (an IPC file or stream, as `datasets` writes data-00000-of-00001.arrow); or a Hub dataset hf://datasets/ORG/NAME[@REVISION][/SUBSET][[SPLIT]] (split train unless named, e.g. hf://datasets/HuggingFaceH4/ultrachat_200k[train_sft]), loaded through the `datasets` library and its cache (HF_HOME; HF_TOKEN for private and gated datasets; with HF_HUB_OFFLINE=1 from the cache). Set this or train_files, not both. Parquet, Arrow and Hub datasets are read by the trainer only (the editor's token insight reads JSONL, JSON and CSV).
   */
  train_file?: string;
  /**
   * Instead of train_file: several training sources mixed into one training set, each {path, dataset_format?, weight?, column_mapping?}. `path` is a data file or a Hub dataset, as in train_file; `dataset_format` (default: the config's; auto decides on that file's own rows) and `column_mapping` (default: the config's) apply to that file only; `weight` (default 1) is how many times its rows are used: 2 = every row twice, 0.5 = a seeded half of them, 2.5 = every row twice and a seeded half once more (never fewer than one row). The training set is built in this order: all files' rows in one list (file after file, each in file order); the validation_split_ratio hold-out drawn from that list (seed `seed`, so no row is both trained and held out); each file's remaining rows taken `weight` times (the fractional part drawn with seed + 2 + the file's index, 0-based); then subsample over the result (seed + 1). Training shuffles the examples every epoch.
   *
   * @minItems 1
   */
  train_files?: [
    {
      /**
       * A data file (relative to the config file's folder) or a Hub dataset hf://datasets/ORG/NAME[@REVISION][/SUBSET][[SPLIT]], as in train_file.
       */
      path: string;
      /**
       * This file's row format (default: the config's dataset_format); auto = its first row decides.
       */
      dataset_format?: 'auto' | 'alpaca' | 'messages' | 'sharegpt' | 'prompt_completion' | 'text';
      /**
       * How many times this file's rows are used: 1 = once, 2 = every row twice, 0.5 = a seeded half of them.
       */
      weight?: number;
      /**
       * This file's column renames, as column_mapping (replaces the config's column_mapping for this file).
       */
      column_mapping?: {
        [k: string]: string;
      };
    },
    ...{
      /**
       * A data file (relative to the config file's folder) or a Hub dataset hf://datasets/ORG/NAME[@REVISION][/SUBSET][[SPLIT]], as in train_file.
       */
      path: string;
      /**
       * This file's row format (default: the config's dataset_format); auto = its first row decides.
       */
      dataset_format?: 'auto' | 'alpaca' | 'messages' | 'sharegpt' | 'prompt_completion' | 'text';
      /**
       * How many times this file's rows are used: 1 = once, 2 = every row twice, 0.5 = a seeded half of them.
       */
      weight?: number;
      /**
       * This file's column renames, as column_mapping (replaces the config's column_mapping for this file).
       */
      column_mapping?: {
        [k: string]: string;
      };
    }[],
  ];
  /**
   * Validation data, a file or a Hub dataset as in train_file (a Hub dataset's split is validation unless named, e.g. hf://datasets/org/name[test]), used for eval loss and token accuracy; read with the config's dataset_format (auto: its own first row decides) and column_mapping.
   */
  validation_file?: string;
  /**
   * Row format: auto = decided by the first row's keys (in this order: messages, sharegpt, prompt_completion, alpaca, text); alpaca = {instruction, input?, output, system?}; messages = OpenAI style {messages: [{role, content}, ...]}, content a string or a list of text parts; sharegpt = {conversations: [{from, value}, ...], system?}; prompt_completion = TRL style {prompt, completion}, both strings (plain text, the completion trained) or both lists of messages (only the completion's assistant turns trained); text = {text}, every token trained. Conversations are rendered with the chat template; a `tools` column is passed to it. With train_files, each file's own rows decide for it, and an entry's dataset_format overrides this one.
   */
  dataset_format?: 'auto' | 'alpaca' | 'messages' | 'sharegpt' | 'prompt_completion' | 'text';
  /**
   * Rename columns of the data files: keys are the names a format reads (instruction, input, output, messages, conversations, prompt, completion, tools, system, text, text_pair, label), values the column names in your files, e.g. {text: text_a, text_pair: text_b}. A train_files entry's own column_mapping replaces this one for that file.
   */
  column_mapping?: {
    [k: string]: string;
  };
  /**
   * Keys holding the speaker and the text inside each turn of messages, sharegpt and conversational prompt_completion rows, e.g. {role: speaker, content: text}; a key left out keeps the format's default (messages: role/content, sharegpt: from/value). null = the defaults.
   */
  message_field_mapping?: {
    role?: string;
    content?: string;
  } | null;
  /**
   * Dataset role name -> system, user, assistant or tool, merged over the defaults human/user -> user, gpt/assistant -> assistant, system -> system, function_call -> assistant (its text kept), observation/tool -> tool; e.g. {customer: user, agent: assistant}. null = the defaults.
   */
  role_mapping?: {
    [k: string]: 'system' | 'user' | 'assistant' | 'tool';
  } | null;
  /**
   * A system message put first in every conversation that has none (also in the generation prompts). null = none.
   */
  system_prompt?: string | null;
  /**
   * Without validation_file: share of the training rows held out for validation (seeded by `seed`; drawn from the rows of train_file, or of all train_files together, before their weights and before subsample). 0 = no split.
   */
  validation_split_ratio?: number;
  /**
   * Fraction of the training rows to keep (seeded by `seed`; file order is preserved), applied last: after the validation hold-out and the train_files weights. 1 = all rows.
   */
  subsample?: number;
  /**
   * Number of classes for task: sequence_classification; labels are whole numbers 0..num_labels-1 in the `label` column.
   */
  num_labels?: number;
  /**
   * Fixed prompt set sampled at step 0 and at every evaluation (JSONL of alpaca rows, whose `output`, when present, is the reference, or messages / sharegpt rows, whose final assistant turn, when present, is the reference; prompts with a reference are decoded greedily).
   */
  generation_prompts_file?: string;
  /**
   * Maximum new tokens per sampled generation.
   */
  generation_max_new_tokens?: number;
  /**
   * Sampling temperature for prompts without a reference (0 = greedy). Prompts with a reference are always greedy.
   */
  generation_temperature?: number;
  /**
   * Nucleus sampling mass for prompts without a reference.
   */
  generation_top_p?: number;
  /**
   * Top-k cut for prompts without a reference (0 = off).
   */
  generation_top_k?: number;
  /**
   * Train only on the response (assistant) tokens; the prompt is masked from the loss. false = loss over all tokens.
   */
  completion_only_loss?: boolean;
  /**
   * Maximum tokens per example; longer examples are truncated (the count is reported).
   */
  max_length?: number;
  /**
   * Rows longer than max_length: truncate = keep the first max_length tokens (a cut answer still ends with its end-of-turn marker) and drop rows left with no answer token; drop = drop every longer row; error = stop at the first row whose answer would be cut away entirely. Dropped rows are counted and the first is named in the dry run, run_started and the token panel.
   */
  excess_length_strategy?: 'truncate' | 'drop' | 'error';
  /**
   * Chat template used instead of the tokenizer's: a bundled name (plain = '### User:' / '### Assistant:' turns ending with the EOS token, the default for tokenizers without a template; chatml = <|im_start|>/<|im_end|> turns) or a .jinja file relative to the config. null = the tokenizer's own template. Saved with every checkpoint.
   */
  chat_template?: string;
  /**
   * Extra variables for the chat template, passed on every render (training, generation, token insight), e.g. {enable_thinking: false} for Qwen3 puts the empty think block into the generation prompt so only the answer is trained.
   */
  chat_template_kwargs?: {};
  /**
   * Concatenate each micro-batch into one row with position_ids restarting per example (no padding, no attention across examples). Changes only the layout of a batch, never its content.
   */
  padding_free?: boolean;
  /**
   * Pack training examples into rows of max_length tokens (changes which examples share a micro-batch; per_device_train_batch_size then counts packed rows). How is set by packing_strategy. causal_lm only.
   */
  packing?: boolean;
  /**
   * bfd = best-fit-decreasing bins of whole examples, each bin laid out padding-free (position_ids restart per example, no attention across examples); wrapped = classic fixed blocks: all examples concatenated and cut every max_length tokens (examples may be split and attend to each other).
   */
  packing_strategy?: 'bfd' | 'wrapped';
  /**
   * Length-grouped sampling: shuffle, then sort examples by length within chunks of 50 micro-batches, so each micro-batch holds examples of similar length (less padding). Seeded like the plain shuffle.
   */
  group_by_length?: boolean;
  /**
   * Compute the loss from the final hidden states chunk by chunk, only at positions that carry a label, with the output projection fused in, so the full (tokens x vocabulary) logits are never held in memory. Same loss and gradients as the plain path; heads it cannot fuse (LoRA on the head, logit soft-capping) and fsdp runs fall back automatically. false = plain full-logits loss.
   */
  fused_cross_entropy?: boolean;
  /**
   * For padding-free rows (padding_free, bfd packing) with attn_implementation sdpa: run attention per example instead of over the whole row with a block-diagonal mask, so cross-example scores are never computed. Same results; models with sliding-window attention keep plain sdpa.
   */
  varlen_attention?: boolean;
  /**
   * Examples per micro-batch on each device.
   */
  per_device_train_batch_size?: number;
  /**
   * Examples per evaluation batch on each device.
   */
  per_device_eval_batch_size?: number;
  /**
   * Micro-batches accumulated per optimizer step; the loss is normalised by the target tokens of the whole step.
   */
  gradient_accumulation_steps?: number;
  /**
   * Peak learning rate of AdamW.
   */
  learning_rate?: number;
  /**
   * Learning-rate schedule after warmup: linear decay to 0, cosine decay to 0, constant (no warmup), constant after warmup.
   */
  lr_scheduler_type?: 'linear' | 'cosine' | 'constant' | 'constant_with_warmup';
  /**
   * Share of total steps spent warming up linearly from 0 (ignored when warmup_steps > 0).
   */
  warmup_ratio?: number;
  /**
   * Number of warmup steps; overrides warmup_ratio when > 0.
   */
  warmup_steps?: number;
  /**
   * Passes over the training data (ignored when max_steps > 0).
   */
  num_train_epochs?: number;
  /**
   * Total optimizer steps; -1 = derive from num_train_epochs.
   */
  max_steps?: number;
  /**
   * Clip the global gradient norm to this value (0 = no clipping; the norm is still logged).
   */
  max_grad_norm?: number;
  /**
   * AdamW decoupled weight decay, not applied to biases and norm weights.
   */
  weight_decay?: number;
  /**
   * AdamW beta1.
   */
  adam_beta1?: number;
  /**
   * AdamW beta2.
   */
  adam_beta2?: number;
  /**
   * AdamW epsilon.
   */
  adam_epsilon?: number;
  /**
   * Seed for data order, initialisation and sampling.
   */
  seed?: number;
  /**
   * Write a train event every N optimizer steps.
   */
  logging_steps?: number;
  /**
   * When to evaluate (loss, token accuracy, sampled generations): never, every eval_steps, or at each epoch end. The last step is always evaluated unless no.
   */
  eval_strategy?: 'no' | 'steps' | 'epoch';
  /**
   * Evaluate every N optimizer steps when eval_strategy is steps.
   */
  eval_steps?: number;
  /**
   * When to save intermediate checkpoints: never, every save_steps, at each epoch end, or whenever metric_for_best_model improves (best); the final model is always saved.
   */
  save_strategy?: 'no' | 'steps' | 'epoch' | 'best';
  /**
   * Save every N optimizer steps when save_strategy is steps.
   */
  save_steps?: number;
  /**
   * Keep at most this many intermediate checkpoints (oldest removed first; the final one and the best one are kept).
   */
  save_total_limit?: number;
  /**
   * Evaluation metric that picks the best checkpoint and drives early stopping: loss, perplexity, token_accuracy, accuracy, f1 or exact_match (the eval_ prefix of HF configs is accepted). Defaults to loss.
   */
  metric_for_best_model?: string;
  /**
   * Whether a larger metric_for_best_model is better. Defaults to false for loss and perplexity, true for the others.
   */
  greater_is_better?: boolean;
  /**
   * End a completed run with the best checkpoint as its result (run_finished's final_checkpoint); the last training state is still saved.
   */
  load_best_model_at_end?: boolean;
  /**
   * Stop training after this many evaluations in a row without improving metric_for_best_model. Unset: never stop early.
   */
  early_stopping_patience?: number;
  /**
   * How much metric_for_best_model must improve on the best so far to count as an improvement.
   */
  early_stopping_threshold?: number;
  /**
   * Precision the weights are loaded and trained in.
   */
  torch_dtype?: 'float32' | 'bfloat16' | 'float16';
  /**
   * Where to train: auto = CUDA when available, else CPU.
   */
  device?: 'auto' | 'cpu' | 'cuda';
  /**
   * Allow model code shipped inside the checkpoint folder to run. Off unless you trust the checkpoint.
   */
  trust_remote_code?: boolean;
  /**
   * Attention kernel the model is loaded with. sdpa works everywhere; flash_attention_2/3 need the flash-attn package and a GPU; padding_free uses their varlen path.
   */
  attn_implementation?:
    'sdpa' | 'eager' | 'flash_attention_2' | 'flash_attention_3' | 'flex_attention';
  /**
   * Freeze the input token embeddings (and the output head when the model ties it to them).
   */
  freeze_embeddings?: boolean;
  /**
   * Freeze the first N decoder layers (counted from the input); their weights stay bit-identical. The trainable count is logged in run_started.
   */
  freeze_layers?: number;
  /**
   * Train LoRA adapters (peft) instead of the full model; the base weights stay unchanged and checkpoints hold the adapter.
   */
  use_lora?: boolean;
  /**
   * LoRA rank.
   */
  lora_r?: number;
  /**
   * LoRA scaling numerator: the adapter update is scaled by lora_alpha / lora_r.
   */
  lora_alpha?: number;
  /**
   * Dropout on the LoRA branch.
   */
  lora_dropout?: number;
  /**
   * Module names that get adapters, e.g. [q_proj, v_proj] or [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]; leave unset for peft's default for the architecture.
   *
   * @minItems 1
   */
  lora_target_modules?: [string, ...string[]];
  /**
   * Modules trained in full and saved next to the adapter, e.g. [lm_head] (LoRA only).
   *
   * @minItems 1
   */
  modules_to_save?: [string, ...string[]];
  /**
   * Also write the final checkpoint as a full model with the adapter merged into the base weights, in <checkpoint>/merged (LoRA only).
   */
  merge_lora_on_save?: boolean;
  /**
   * QLoRA: load the frozen base model quantised to 4-bit NF4 with double quantisation (bitsandbytes; CUDA only) and train LoRA adapters on it; compute runs in bf16 with `bf16: true`, else fp16 with `fp16: true`, else fp32. Needs `use_lora: true`; not with `merge_lora_on_save` or `fsdp`.
   */
  load_in_4bit?: boolean;
  /**
   * Recompute activations during the backward pass (non-reentrant): much less activation memory for about 30% more compute.
   */
  gradient_checkpointing?: boolean;
  /**
   * Compile the training forward pass with torch.compile: the first steps are slow (compilation), later ones faster. Needs a C++ compiler on CPU.
   */
  torch_compile?: boolean;
  /**
   * bfloat16 autocast for the forward pass; weights, gradients and optimizer state stay in torch_dtype. Works on CPU and on GPUs with bfloat16 support.
   */
  bf16?: boolean;
  /**
   * float16 autocast with a dynamic gradient scaler (steps with inf/NaN gradients are skipped). Needs torch_dtype float32; works on CPU and GPU.
   */
  fp16?: boolean;
  /**
   * Allow TensorFloat-32 matmuls on CUDA (Ampere or newer). Leave unset for PyTorch's default; no effect on CPU.
   */
  tf32?: boolean;
  /**
   * Floor of the linear and cosine schedules as a fraction of learning_rate (0 = decay to zero).
   */
  min_lr_rate?: number;
  /**
   * Training processes per machine. > 1 runs data parallel under torchrun (gloo on CPU, NCCL on GPU, one GPU per process); the global batch is per_device_train_batch_size x nproc_per_node x nnodes x gradient_accumulation_steps.
   */
  nproc_per_node?: number;
  /**
   * Machines taking part. > 1 needs the same `train` command started on every machine (or a hostfile); the first host of the hostfile is the rendezvous point.
   */
  nnodes?: number;
  /**
   * Deepspeed-style hostfile, one `host slots=N` line per machine (relative to the config file). Sets nnodes to the number of hosts, nproc_per_node to the slots, and the rendezvous to the first host.
   */
  hostfile?: string;
  /**
   * Rendezvous port on the first host of a multi-machine run.
   */
  master_port?: number;
  /**
   * Shard the model over the training processes with PyTorch's FSDP2 (fully_shard on every decoder layer, then on the whole model), for models whose weights, gradients and optimizer state do not fit one device. no = data parallel, every process holds the whole model; full_shard = weights, gradients and AdamW state are split over the processes and each layer is gathered for its forward and again for its backward (ZeRO-3); shard_grad_op = as full_shard, but a layer stays gathered from its forward to its backward (more memory, less communication). Needs nproc_per_node > 1 (or a hostfile); not with use_lora, fp16 or torch_compile. The loss is computed from the full logits (fused_cross_entropy does not apply), evaluation and generations run on every process with the gathered layers, and checkpoints hold the full, gathered model in the usual layout.
   */
  fsdp?: 'no' | 'full_shard' | 'shard_grad_op';
  /**
   * Extra metric sinks besides events.jsonl: none, tensorboard (event files in <run>/tensorboard), wandb (Weights & Biases; project from the WANDB_PROJECT environment variable, default sft-studio; one W&B run per run folder, continued on resume; needs the wandb package and WANDB_API_KEY, `wandb login` or WANDB_MODE=offline) or all. A sink whose package or credentials are missing becomes one warning; the run goes on.
   */
  report_to?: 'none' | 'tensorboard' | 'wandb' | 'all';
  /**
   * Where the run trains. local = the trainer starts on this machine (▶ Run, or `python -m sft_studio train`); slurm = ▶ Run (or `python -m sft_studio submit`) submits an sbatch job built from `slurm` instead, and the run is followed from its folder as a local run is. The run folder must then lie on a filesystem the cluster's nodes share (output_dir); the job reads the config when it starts.
   */
  launcher?: 'local' | 'slurm';
  /**
   * The Slurm job of `launcher: slurm` {partition, nodes, gpus_per_node, cpus_per_task, time, account, qos, extra_sbatch, setup}: one task per node, each starting torchrun with one process per GPU (nproc_per_node processes on nodes without GPUs), all meeting at the allocation's first host on master_port. Stop asks the trainer to save a checkpoint (control.jsonl), then cancels the job (scancel) after sftStudio.stopGracePeriodSeconds; a job Slurm ends (TIMEOUT, CANCELLED, NODE_FAIL, ...) shows its state in the run's error, and Resume resubmits it.
   */
  slurm?: {
    /**
     * Partition (queue) to submit to, or several separated by commas (sbatch --partition). Unset = the cluster's default partition.
     */
    partition?: string;
    /**
     * Machines to allocate (sbatch --nodes); the run's data parallel world is nodes x processes per node.
     */
    nodes?: number;
    /**
     * GPUs per machine (sbatch --gpus-per-node); one training process per GPU. 0 = no GPUs: nproc_per_node CPU processes per machine.
     */
    gpus_per_node?: number;
    /**
     * CPU cores for each machine's task, which runs all of that machine's training processes (sbatch --cpus-per-task).
     */
    cpus_per_task?: number;
    /**
     * Time limit (sbatch --time): minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. At the limit Slurm ends the job (TIMEOUT); Resume continues it from the last checkpoint.
     */
    time?: string;
    /**
     * Account the job is charged to (sbatch --account).
     */
    account?: string;
    /**
     * Quality of service of the job (sbatch --qos).
     */
    qos?: string;
    /**
     * More lines for the script's header, written as they are after the generated ones, each starting with #SBATCH, e.g. `#SBATCH --mem=64G` or `#SBATCH --constraint=a100`.
     */
    extra_sbatch?: string[];
    /**
     * Shell lines the job runs before training, once, on its first machine (the environment they set reaches every machine's task), e.g. `module load cuda/12.4` or `source /shared/venv/bin/activate`. The job stops at the first line that fails.
     */
    setup?: string[];
  };
  /**
   * A hyperparameter sweep over this config, {method, parameters, max_trials, seed, early_stopping_patience}: ▶ Sweep (or `python -m sft_studio sweep`) starts one run per trial, each this config with the trial's values as `--set` overrides, through the run queue (sftStudio.maxConcurrentRuns). Every trial evaluates, and its objective is metric_for_best_model (loss by default; greater_is_better gives the direction), its best evaluation. ▶ Run ignores the block and trains the config as written.
   */
  sweep?: {
    /**
     * grid = every combination of the listed values; random = max_trials draws (seeded) from lists and ranges; bayes = Optuna's TPE, each trial suggested from the finished trials' objectives.
     */
    method?: 'grid' | 'random' | 'bayes';
    /**
     * Config field -> the values to try: a list such as [1e-4, 3e-4], {values: [...]}, or (random, bayes) a range {min, max, log} (integers when min and max are whole numbers; log = sampled on a log scale, min > 0).
     */
    parameters: {
      [k: string]:
        | [string | number | boolean, ...(string | number | boolean)[]]
        | {
            /**
             * @minItems 1
             */
            values: [string | number | boolean, ...(string | number | boolean)[]];
          }
        | {
            min: number;
            max: number;
            log?: boolean;
          };
    };
    /**
     * Trials to run (random, bayes; required there). A grid runs every combination.
     */
    max_trials?: number;
    /**
     * Seed of the random draws and of TPE; defaults to the config's seed.
     */
    seed?: number;
    /**
     * Prune trials: every trial stops after this many evaluations in a row without improving the objective (early_stopping_patience for all trials).
     */
    early_stopping_patience?: number;
  };
  /**
   * Set by a sweep on each of its trials (the sweep folder's name); leave it out of configs.
   */
  sweep_id?: string;
  /**
   * Set by a sweep on each of its trials: the trial's index in sweep.json; leave it out of configs.
   */
  sweep_trial?: number;
}
