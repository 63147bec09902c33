/**
 * Parser for `WWW-Authenticate` challenges (RFC 7235 §4.1), as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:x:pull"`.
 * Pure; tolerant of several challenges in one header and of unquoted values.
 */

export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", … */
  scheme: string;
  /** Lower-cased parameter names → unescaped values. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.flatMap(parseOne);
}

function parseOne(input: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = input.length;
  const skipWs = () => {
    while (i < n && (input[i] === " " || input[i] === "\t")) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && TOKEN.test(input[i]!)) i++;
    return input.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (input[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const word = readToken();
    if (!word) {
      i++; // skip a stray character rather than loop forever
      continue;
    }
    skipWs();
    if (input[i] === "=" && current) {
      // a parameter of the current challenge
      i++;
      skipWs();
      let value: string;
      if (input[i] === '"') {
        i++;
        let v = "";
        while (i < n && input[i] !== '"') {
          if (input[i] === "\\" && i + 1 < n) i++;
          v += input[i];
          i++;
        }
        i++; // closing quote
        value = v;
      } else {
        const vs = i;
        while (i < n && input[i] !== "," && input[i] !== " " && input[i] !== "\t") i++;
        value = input.slice(vs, i);
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    if (input[i] === "=" && !current) {
      // token68 without a scheme: malformed, ignore it
      while (i < n && input[i] !== ",") i++;
      continue;
    }
    // a new challenge scheme; a following token68 (e.g. `Negotiate abc==`) is ignored
    current = { scheme: input.slice(start, start + word.length).toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}
