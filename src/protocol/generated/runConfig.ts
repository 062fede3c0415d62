// generated, do not edit: produced from schema/run-config.schema.json by scripts/gen-types.mjs (npm run gen:types)

/**
 * An SFT Studio run config (*.sft.yaml or *.sft.json). Field names follow Hugging Face TrainingArguments / TRL SFTConfig where one exists.
 */
export interface RunConfig {
  /**
   * Folder of a local Hugging Face causal LM checkpoint (config.json, weights, tokenizer files). Relative paths are resolved from the config file's folder.
   */
  model_name_or_path: string;
  /**
   * Name of the run; its folder is <output_dir>/<run_name>-<UTC timestamp>. Defaults to the config file's stem.
   */
  run_name?: string;
  /**
   * Parent folder of this config's runs, relative to the config file's folder.
   */
  output_dir?: string;
  /**
   * What is trained: causal_lm = instruction/chat supervised fine-tuning of a causal language model.
   */
  task?: 'causal_lm';
  /**
   * Training data (JSONL, one example per line), relative to the config file's folder.
   */
  train_file: string;
  /**
   * Validation data in the same format as train_file, used for eval loss and token accuracy.
   */
  validation_file?: string;
  /**
   * Row format: alpaca = {instruction, input?, output}; messages = {messages: [{role, content}, ...]} rendered with the tokenizer's chat template.
   */
  dataset_format?: 'alpaca' | 'messages';
  /**
   * Fixed prompt set sampled at step 0 and at every evaluation (JSONL in alpaca format; `output`, when present, is the reference and the prompt is decoded greedily).
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
   * Concatenate each micro-batch into one row with position_ids restarting per example (no padding, no attention across examples). Changes only the layout of a batch, never its content.
   */
  padding_free?: boolean;
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
   * When to save intermediate checkpoints; the final model is always saved.
   */
  save_strategy?: 'no' | 'steps' | 'epoch';
  /**
   * Save every N optimizer steps when save_strategy is steps.
   */
  save_steps?: number;
  /**
   * Keep at most this many intermediate checkpoints (oldest removed first; the final one is kept).
   */
  save_total_limit?: number;
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
}
