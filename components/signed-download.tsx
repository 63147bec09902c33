"use client";

import { useState } from "react";
import { buttonClass } from "@/components/ui";
import { envelopeError } from "@/lib/ui/fetch-json";

/** Saves a blob as a file the way a download link would. */
function save(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/**
 * Downloads a signed export (lib/exports/download.ts) and its detached signature: the file as served,
 * and `<file>.sig` from the X-Signet-Signature header, for
 * `cosign verify-blob --key signet-export.pub --signature <file>.sig --insecure-ignore-tlog=true <file>`.
 * Every export the UI offers (Exports, Images, Audit pages) goes through it.
 */
export function SignedDownload({ href, label, testId }: { href: string; label: string; testId: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function download() {
    setBusy(true);
    setError(null);
    try {
      const res = await fetch(href, { credentials: "same-origin" });
      if (!res.ok) throw await envelopeError(res);
      const filename = /filename="([^"/\\]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "signet-export";
      const signature = res.headers.get("x-signet-signature");
      save(await res.blob(), filename);
      if (signature) save(new Blob([signature], { type: "text/plain" }), `${filename}.sig`);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <span className="inline-flex flex-col">
      <button type="button" className={buttonClass} onClick={() => void download()} disabled={busy} data-testid={testId} aria-busy={busy}>
        {busy ? "Preparing…" : label}
      </button>
      {error && (
        <span role="alert" className="mt-1 text-xs text-red-700 dark:text-red-400">
          {error}
        </span>
      )}
    </span>
  );
}
