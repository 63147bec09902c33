/**
 * Reads a PDF's text with Debian's pdftotext (poppler-utils, provisioned by scripts/provision/tools.sh):
 * what a reader shows, not what the generator meant to write.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export function pdftotextBin(): string {
  const bin = process.env.PDFTOTEXT_BIN ?? "/usr/bin/pdftotext";
  if (!existsSync(bin)) throw new Error(`pdftotext not found at ${bin}: run \`eval "$(bash scripts/provision.sh)"\` first`);
  return bin;
}

/** The text of every page (`-layout` keeps table rows on one line), and the page count. */
export async function pdfText(pdf: Uint8Array): Promise<{ text: string; pages: number }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-pdf-"));
  try {
    const file = path.join(dir, "report.pdf");
    await fs.writeFile(file, pdf);
    const { stdout } = await execFileP(pdftotextBin(), ["-layout", "-enc", "UTF-8", file, "-"], { maxBuffer: 64 * 1024 * 1024 });
    return { text: stdout, pages: stdout.split("\f").filter((p) => p.trim() !== "").length };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
