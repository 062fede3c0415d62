// Messages of the token insight panel (host: src/insight/tokensPanel.ts, app: webview/tokens/main.ts).
import { hasOnlyKeys, isObject, isStep, isString, MAX_STATE_PATH, type ParamGuards } from './bridge';

export const TOKENS_VIEW_TYPE = 'sftStudio.tokens';

export interface TokenStatsView {
  examples: number;
  tokens: number;
  truncated_examples: number;
  trained_tokens: number;
  masked_tokens: number;
  max_length: number;
  truncated_fraction: number;
  mean_length: number;
  longest: number;
  histogram: { edges: number[]; counts: number[] };
  packing_efficiency: { bfd: number; wrapped: number };
  padding_efficiency: number;
  /** Rows left out by excess_length_strategy, and the first (`path:line: reason`). */
  dropped_examples: number;
  first_dropped: string | null;
}

export interface TokensState {
  type: 'tokensState';
  configPath: string;
  status: 'computing' | 'done' | 'error';
  progress: { done: number; total: number };
  stats?: TokenStatsView;
  error?: string;
}

export interface PreviewToken {
  text: string;
  id: number;
  trained: boolean;
}

export interface ExamplePreview {
  index: number;
  /** 1-based line of the row in train_file. */
  line: number;
  truncated: boolean;
  /** The exact text the chat template produced. */
  rendered: string;
  tokens: PreviewToken[];
}

export type TokensRequests = {
  example: { params: { index: number }; result: ExamplePreview };
  recompute: { params: Record<string, never>; result: null };
};

export const tokensGuards: ParamGuards<TokensRequests> = {
  example: (p): p is { index: number } => isObject(p) && hasOnlyKeys(p, ['index']) && isStep(p.index),
  recompute: (p): p is Record<string, never> => isObject(p) && Object.keys(p).length === 0,
};

export function isTokensState(value: unknown): value is TokensState {
  return isObject(value) && value.type === 'tokensState' && typeof value.configPath === 'string' && typeof value.status === 'string';
}

/**
 * What the tokens app keeps with setState: the config it shows and the example of the label-mask
 * preview. After a window reload the serializer reopens the panel for that config and counts again.
 */
export interface TokensWebviewState {
  configPath: string;
  /** 0-based index of the example the label-mask preview showed. */
  index?: number;
}

export function isTokensWebviewState(value: unknown): value is TokensWebviewState {
  return (
    isObject(value) &&
    hasOnlyKeys(value, ['configPath', 'index']) &&
    isString(value.configPath) &&
    value.configPath.length > 0 &&
    value.configPath.length <= MAX_STATE_PATH &&
    (value.index === undefined || isStep(value.index))
  );
}
