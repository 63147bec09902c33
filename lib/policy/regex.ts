import { RE2JS, RE2JSException, RE2JSSyntaxException } from "re2js";

/**
 * Policy regular expressions (identity subject / issuer, certificate extensions, attestation
 * conditions) in RE2 syntax — the dialect of Go's regexp that cosign and policy-controller use —
 * matched by re2js in time linear in the subject, whatever the pattern (`(a+)+$` included). Subjects
 * come from certificates an attacker can choose, so no backtracking engine ever sees them.
 *
 * A pattern matches anywhere in the value (Go's MatchString); anchor it with ^…$ to match it whole.
 * Constructs RE2 lacks (lookaround, backreferences, possessive quantifiers, repeats over 1000) are
 * refused when a policy is saved, with the position of the offending part.
 */

/** Longest pattern accepted (the policy schema's limit too). */
export const MAX_PATTERN_LENGTH = 1000;

export class PolicyRegexError extends Error {
  constructor(
    message: string,
    /** 0-based offset of the offending part in the pattern, when known. */
    readonly position: number | undefined,
  ) {
    super(message);
    this.name = "PolicyRegexError";
  }
}

/** Why `pattern` is not a valid RE2 expression, with its position; undefined when it is. */
export function regexProblem(pattern: string): string | undefined {
  try {
    compile(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function compile(pattern: string): RE2JS {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PolicyRegexError(`is longer than ${MAX_PATTERN_LENGTH} characters`, undefined);
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) {
      const fragment = err.getPattern();
      // RE2 names the offending part; a missing ")" is reported with the whole pattern and is missing at its end.
      const at = fragment === pattern && /missing closing/.test(err.getDescription()) ? pattern.length : fragment ? pattern.indexOf(fragment) : -1;
      const where = at >= 0 ? ` at position ${at}` : "";
      const what = fragment && fragment !== pattern ? `: \`${fragment}\`` : "";
      throw new PolicyRegexError(`is not a valid regular expression in RE2 syntax${where} (${err.getDescription()}${what})`, at >= 0 ? at : undefined);
    }
    if (err instanceof RE2JSException) throw new PolicyRegexError(`is not a valid regular expression in RE2 syntax (${err.message})`, undefined);
    throw err;
  }
}

// Compiled patterns, most recently used last. Keyed by pattern text: every policy version using a
// pattern shares one compilation, and patterns of replaced versions age out.
const CACHE_SIZE = 512;
const cache = new Map<string, RE2JS>();

/** The compiled form of a pattern (cached); throws PolicyRegexError for an invalid one. */
export function policyRegex(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (re) {
    cache.delete(pattern);
  } else {
    re = compile(pattern);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(pattern, re);
  return re;
}

/** Whether `pattern` matches somewhere in `value` (linear time). */
export function policyRegexMatches(pattern: string, value: string): boolean {
  return policyRegex(pattern).matcher(value).find();
}
