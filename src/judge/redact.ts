// Secrets never reach the judge's files or messages. Servers echo keys back in error bodies (a 401
// quoting the key it refused), and a key can sit in a base URL's query; both would otherwise be
// copied into results.jsonl, summary.json, the CLI's output and the panel.

export const REDACTED = '[redacted]';

/** Query parameters that carry credentials by convention (Azure `sig`, Google `key`, gateways' `token` …). */
const SECRET_PARAMS = /^(?:api[-_]?key|key|token|access[-_]?token|auth|authorization|secret|client[-_]?secret|password|pass|sig|signature|code)$/i;

/** Known literal secrets shorter than this are left alone: replacing "k" everywhere would garble text, not protect it. */
const MIN_SECRET_LENGTH = 8;

/**
 * Patterns of credentials in free text:
 * - OpenAI-style keys (`sk-…`, `sk-proj-…`) and Hugging Face tokens (`hf_…`, the trainer's HF_TOKEN),
 * - `Bearer <token>` (an echoed Authorization header),
 * - `user:password@` in a URL,
 * - `name=value` pairs whose name says it is a credential (query strings, form bodies, logs).
 */
const TEXT_PATTERNS: [RegExp, (match: string, ...groups: string[]) => string][] = [
  [/\bsk[-_][A-Za-z0-9_-]{8,}/g, () => REDACTED],
  [/\bhf_[A-Za-z0-9]{20,}/g, () => REDACTED],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, (_m, scheme) => `${scheme} ${REDACTED}`],
  // The scheme's length is bounded so that text of dots and letters cannot make the scan quadratic.
  [/(\b[a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/@:]*:[^\s/@]*@/gi, (_m, scheme) => `${scheme}${REDACTED}@`],
  [
    /([?&;\s"'{,]|^)((?:api[-_]?key|key|token|access[-_]?token|auth|secret|client[-_]?secret|password|sig|signature)"?\s*[=:]\s*"?)([^\s&"',;}]+)/gi,
    (_m, before, name) => `${before}${name}${REDACTED}`,
  ],
];

/** Removes the given secrets (the API key in use) and anything shaped like a credential from `text`. */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replace] of TEXT_PATTERNS) out = out.replace(pattern, replace as (m: string) => string);
  return out;
}

/**
 * A URL fit to show and store: credentials in the user-info part and in query parameters are
 * replaced. Text that is not a URL is redacted as free text.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactText(url);
  }
  // Left as written when there is nothing to hide: the URL is part of cached results' keys.
  if (!urlHasCredentials(url)) return url.replace(/\/+$/, '');
  if (parsed.username || parsed.password) {
    parsed.username = REDACTED;
    parsed.password = '';
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMS.test(name)) parsed.searchParams.set(name, REDACTED);
  }
  // URL re-encodes the brackets; the marker reads better plain.
  return parsed.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED).replace(/\/+$/, '');
}

/** Whether a URL carries a credential (user-info or a credential-named query parameter). */
export function urlHasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return Boolean(parsed.username || parsed.password) || [...parsed.searchParams.keys()].some((name) => SECRET_PARAMS.test(name));
  } catch {
    return false;
  }
}
