import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

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
