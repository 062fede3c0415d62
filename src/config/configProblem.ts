// One problem the editor reports in a run config (diagnostics, Validate, Start Run): where, what, how bad.
import type { SourceSpan } from './parseConfig';

export interface ConfigProblem extends SourceSpan {
  message: string;
  severity: 'error' | 'warning';
  /** Dotted field the problem is about ('' for the whole config). */
  field: string;
  /** Machine-readable kind: an ajv keyword, `syntax`, `unknown-field` or `missing-file`. */
  code: string;
}
