// Public API of the judge for the extension host and the judge panel. Nothing here imports vscode;
// the vscode.lm provider needs `createLanguageModelApi` from './lm.apis', which the extension
// imports itself.
export { DEFAULT_MAX_OUTPUT_TOKENS } from './choice';
export { runJudge, callKey, costOf, type JudgeBudget, type JudgeProgress, type JudgeRunOptions, type JudgeRunResult } from './engine';
export { JudgeCallError, JudgeInputError, type JudgeErrorKind } from './errors';
export {
  generationSteps,
  isRunDirectory,
  loadAnswersFile,
  loadRunGenerations,
  loadSide,
  pairSides,
  referenceSide,
  type Answer,
  type JudgeSide,
  type Pairing,
} from './inputs';
export { OpenAiJudgeProvider, type OpenAiJudgeOptions, type OpenAiReplyMode } from './openaiProvider';
export { redactText, redactUrl, urlHasCredentials } from './redact';
export { matchesReference, normalizeAnswer, ReferenceJudge, type MatchMode } from './referenceJudge';
export { DEFAULT_RETRY, type RetryPolicy } from './retry';
export { combineOrders, summarize, wilsonInterval, winnerOf, promptRecord } from './stats';
export {
  judgeDirectory,
  listJudgements,
  newJudgeId,
  readOptionalJson,
  readRecords,
  readRequest,
  readResults,
  readSummary,
  RECORDS_FILE,
  REQUEST_FILE,
  RESULTS_FILE,
  storedView,
  SUMMARY_FILE,
  writeRequest,
  type StoredRequest,
} from './store';
export { DEFAULT_TEMPLATE, loadTemplateFile, renderTemplate, validateTemplate } from './template';
export { VscodeLmJudgeProvider } from './vscodeLmProvider';
export type * from './types';
