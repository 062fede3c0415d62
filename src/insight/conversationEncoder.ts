// Messages to input ids and labels with the model's chat template: the trainer's
// ConversationTokenizer (trainer/sft_studio/data.py) in TypeScript. Each conversation is tokenized
// piece by piece (prompt chunk, then each answer followed by EOS), so the masked/trained boundary is
// exact; the rules must stay identical to the Python side, which a cross-check test enforces.
import { DataError, rowToMessages, textField, type ChatMessage, type Row } from './datasetRows';

export const IGNORE_INDEX = -100;

/** What the encoder needs from a tokenizer; tokenizerLoader adapts transformers.js to it. */
export interface ChatTokenizer {
  readonly hasChatTemplate: boolean;
  readonly eosToken: string | undefined;
  readonly eosTokenId: number | undefined;
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string;
  encode(text: string): number[];
}

export interface EncodedExample {
  inputIds: number[];
  labels: number[];
  truncated: boolean;
  /** The text the chat template produced for the whole conversation (before truncation). */
  rendered: string;
}

export function trainedTokens(example: Pick<EncodedExample, 'labels'>): number {
  let n = 0;
  for (const label of example.labels) if (label !== IGNORE_INDEX) n += 1;
  return n;
}

export class ConversationEncoder {
  constructor(
    private readonly tok: ChatTokenizer,
    readonly maxLength: number,
    readonly completionOnly: boolean,
  ) {
    if (!tok.hasChatTemplate) {
      throw new DataError(
        'the tokenizer has no chat_template',
        "Add a `chat_template` to the model's tokenizer_config.json, or use `dataset_format: text`.",
      );
    }
    if (tok.eosTokenId === undefined || tok.eosToken === undefined) {
      throw new DataError('the tokenizer has no eos_token', "Set `eos_token` in the model's tokenizer_config.json.");
    }
  }

  encode(messages: readonly ChatMessage[], where: string): EncodedExample {
    const eosText = this.tok.eosToken as string;
    const eosId = this.tok.eosTokenId as number;
    const ids: number[] = [];
    const labels: number[] = [];
    let rendered = '';
    messages.forEach((message, i) => {
      if (message.role !== 'assistant') return;
      const prefix = this.tok.render(messages.slice(0, i), true);
      const full = this.tok.render(messages.slice(0, i + 1), false);
      if (!prefix.startsWith(rendered) || !full.startsWith(prefix + message.content + eosText)) {
        throw new DataError(
          `${where}: the chat template does not render turns as prefix + answer + EOS`,
          'Use a chat template whose generation prompt is a prefix of the rendered conversation.',
        );
      }
      const chunk = this.tok.encode(prefix.slice(rendered.length));
      const answer = [...this.tok.encode(message.content), eosId];
      ids.push(...chunk, ...answer);
      labels.push(...(this.completionOnly ? chunk.map(() => IGNORE_INDEX) : chunk), ...answer);
      rendered = prefix + message.content + eosText;
    });
    return this.truncate(ids, labels, rendered);
  }

  /** dataset_format text: the text and EOS, every position trained. */
  encodePlain(text: string): EncodedExample {
    const ids = [...this.tok.encode(text), this.tok.eosTokenId as number];
    return this.truncate(ids, [...ids], text + (this.tok.eosToken as string));
  }

  encodeRow(row: Row, format: string): EncodedExample {
    const example = format === 'text' ? this.encodePlain(textField(row, 'text')) : this.encode(rowToMessages(row, format), row.where);
    if (trainedTokens(example) === 0) {
      throw new DataError(
        `${row.where}: after truncation to max_length=${this.maxLength} no answer token is left`,
        'Raise `max_length` or shorten the prompt.',
      );
    }
    return example;
  }

  private truncate(ids: number[], labels: number[], rendered: string): EncodedExample {
    return {
      inputIds: ids.slice(0, this.maxLength),
      labels: labels.slice(0, this.maxLength),
      truncated: ids.length > this.maxLength,
      rendered,
    };
  }
}
