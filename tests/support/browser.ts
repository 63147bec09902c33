import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's chromium driven by playwright-core (browser downloads are impossible here). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
  if (!fs.existsSync(executablePath)) throw new Error(`chromium not found at ${executablePath}; run scripts/provision.sh`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export const ARTIFACTS = path.resolve(import.meta.dirname, "..", "..", "test-artifacts");

/**
 * Collects a page's console errors (a CSP violation is one, and so is a failed resource load) and uncaught
 * errors into `errors`. A failed load is recorded with the address it failed on, so a failure names it.
 */
export function watchPageErrors(page: Page, errors: string[] = []): string[] {
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = m.location().url;
    errors.push(url && /^Failed to load resource/.test(m.text()) ? `${m.text()} (${url})` : m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}
