/**
 * Reads the API's error envelope `{ error: { code, message, details? } }` (lib/api/errors.ts) into
 * what a form shows: each field's problem next to that field, the rest as one message. Pure, so the
 * mapping is unit-tested; components/json-form.tsx renders it.
 *
 * `details` comes as zod issues `[{ path, message }]` (route wrapper), problem strings
 * `["spec.mode: …"]` (policy validation), or `{ field }` naming the field the message is about.
 */
export interface FormErrors {
  /** The request's message, readable (never raw schema text when a field explains it). */
  message: string;
  /** Problems by input name. */
  fields: Record<string, string>;
  /** Problems no input of the form matches, as "path: message". */
  other: string[];
}

/** Zod's wording for a missing or mistyped value, said as a person would. */
export function readableIssue(message: string): string {
  if (/received undefined/i.test(message) || /^required$/i.test(message)) return "Required.";
  const tooSmall = /^Too small: expected string to have >=(\d+) characters?$/.exec(message);
  if (tooSmall) return tooSmall[1] === "1" ? "Required." : `At least ${tooSmall[1]} characters.`;
  const tooBig = /^Too big: expected string to have <=(\d+) characters?$/.exec(message);
  if (tooBig) return `At most ${tooBig[1]} characters.`;
  if (/expected date/i.test(message)) return "Not a valid date: write it as YYYY-MM-DD.";
  if (/^Invalid (email|url)/i.test(message)) return `Not a valid ${/email/i.test(message) ? "email address" : "URL"}.`;
  return message.endsWith(".") ? message : `${message}.`;
}

/**
 * @param fieldOf request body paths (or their first segment) → input names, where they differ
 * @param inputs the input names the form has (a problem about another path goes to `other`)
 */
export function readFormErrors(data: unknown, opts: { fieldOf?: Record<string, string>; inputs: readonly string[]; fallback: string }): FormErrors {
  const env = (data && typeof data === "object" ? (data as { error?: unknown }).error : undefined) as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  const betterAuth = data && typeof data === "object" && typeof (data as { message?: unknown }).message === "string" ? (data as { message: string }).message : undefined;
  let message = typeof env?.message === "string" ? env.message : (betterAuth ?? opts.fallback);
  const fields: Record<string, string> = {};
  const other: string[] = [];
  const inputOf = (path: string): string | undefined => {
    const candidates = [opts.fieldOf?.[path], opts.fieldOf?.[path.split(".")[0]!], path, path.split(".").at(-1), path.split(".")[0]];
    return candidates.find((c): c is string => !!c && opts.inputs.includes(c));
  };
  const add = (path: string, problem: string) => {
    const input = inputOf(path);
    if (input && !fields[input]) fields[input] = readableIssue(problem);
    else other.push(path ? `${path}: ${problem}` : problem);
  };
  const details = env?.details;
  if (Array.isArray(details)) {
    for (const d of details) {
      if (d && typeof d === "object" && typeof (d as { message?: unknown }).message === "string") add(String((d as { path?: unknown }).path ?? ""), (d as { message: string }).message);
      else if (typeof d === "string") {
        const m = /^([\w.[\]()-]+): (.*)$/s.exec(d);
        if (m) add(m[1]!, m[2]!);
        else other.push(d);
      }
    }
  } else if (details && typeof details === "object" && typeof (details as { field?: unknown }).field === "string") {
    const input = inputOf((details as { field: string }).field);
    if (input) fields[input] = message;
  }
  if (env?.code === "payload_too_large") {
    const limit = (details as { limit?: unknown } | undefined)?.limit;
    message = typeof limit === "number" ? `Too large: at most ${formatBytes(limit)} can be sent.` : "Too large.";
  } else if (Object.keys(fields).length > 0 && env?.code === "validation_failed" && message === "The request is not valid.") {
    message = Object.keys(fields).length === 1 ? "Check the field marked below." : "Check the fields marked below.";
  }
  return { message, fields, other };
}

/** 2097152 → "2 MiB", 3145728 → "3 MiB", 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : Number(v.toFixed(1))} ${units[u]}`;
}
