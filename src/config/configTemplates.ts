// Starting points for "New Run Config": each a complete, commented config that passes the schema;
// only its data paths need to point at the user's files.

export interface ConfigTemplate {
  id: string;
  label: string;
  detail: string;
  /** Suggested file name stem. */
  stem: string;
  text: string;
}

const COMMON_TRAINING = `
# Optimisation: peak learning rate, schedule and batch (global batch = batch size x accumulation).
learning_rate: 2.0e-4
lr_scheduler_type: cosine
warmup_ratio: 0.05
num_train_epochs: 1
per_device_train_batch_size: 8
gradient_accumulation_steps: 1
max_grad_norm: 1.0

# Logging, evaluation and checkpoints (Stop saves one too; Resume continues from the newest).
logging_steps: 10
eval_strategy: steps
eval_steps: 100
save_strategy: steps
save_steps: 200
save_total_limit: 2
`;

// Alpaca rows with the loss on the answers: shared by instruction tuning and LoRA.
const INSTRUCTION_DATA = `model_name_or_path: path/to/base-model
train_file: data/train.jsonl
validation_file: data/validation.jsonl
dataset_format: alpaca
completion_only_loss: true
max_length: 512
padding_free: true
`;

export const configTemplates: readonly ConfigTemplate[] = [
  {
    id: 'instruction',
    label: 'Instruction tuning',
    detail: 'Alpaca-style rows {instruction, input?, output}; loss on the answers only',
    stem: 'instruct',
    text: `# Instruction tuning: teach a base model to follow instructions. Hover a field for its meaning.
${INSTRUCTION_DATA}${COMMON_TRAINING}`,
  },
  {
    id: 'chat',
    label: 'Chat',
    detail: "Multi-turn {messages: [{role, content}]} rendered with the tokenizer's chat template",
    stem: 'chat',
    text: `# Chat fine-tuning: conversations in the messages format; the loss covers the assistant turns.
model_name_or_path: path/to/chat-model
train_file: data/chat_train.jsonl
validation_file: data/chat_validation.jsonl
dataset_format: messages
completion_only_loss: true
max_length: 1024
padding_free: true
${COMMON_TRAINING}`,
  },
  {
    id: 'classification',
    label: 'Classification',
    detail: 'A classification head on the model; rows {text, text_pair?, label}; accuracy and F1',
    stem: 'classify',
    text: `# Sequence classification: labels are whole numbers 0..num_labels-1 in the label column.
model_name_or_path: path/to/base-model
task: sequence_classification
num_labels: 2
train_file: data/train.jsonl
validation_file: data/validation.jsonl
# Map the names the task reads to your columns, e.g. for sentence pairs stored as text_a/text_b:
column_mapping: {text: text_a, text_pair: text_b}
max_length: 256
${COMMON_TRAINING}`,
  },
  {
    id: 'lora',
    label: 'LoRA',
    detail: 'Instruction tuning with low-rank adapters: a fraction of the parameters, far less memory',
    stem: 'lora',
    text: `# LoRA: train small adapter matrices instead of the whole model.
${INSTRUCTION_DATA}
use_lora: true
lora_r: 16
lora_alpha: 32
lora_dropout: 0.05
lora_target_modules: [q_proj, k_proj, v_proj, o_proj]
${COMMON_TRAINING}`,
  },
];
