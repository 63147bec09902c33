import { afterEach, vi } from "vitest";

// In-process logs are noise in test output; spawned processes set their own LOG_LEVEL.
process.env.LOG_LEVEL ??= "silent";
// Tests reach nothing but loopback: workers they start never contact the public-good TUF mirror.
process.env.SIGNET_TUF_PUBLIC_GOOD ??= "false";

// A console.error in a test fails it unless the test expects it (spy on console.error to do so).
let errors: unknown[][] = [];
const original = console.error;
console.error = (...args: unknown[]) => {
  errors.push(args);
  original(...args);
};
afterEach(() => {
  const seen = errors;
  errors = [];
  if (seen.length && !vi.isMockFunction(console.error)) {
    throw new Error(`console.error was called ${seen.length} time(s): ${String(seen[0]?.[0]).slice(0, 300)}`);
  }
});
