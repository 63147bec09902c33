"use client";

import { useState } from "react";
import { z } from "zod";
import { buttonClass, TextLink } from "@/components/ui";
import { sendJson } from "@/lib/ui/fetch-json";
import { links } from "@/lib/ui/links";
import { useHydrated } from "@/lib/ui/use-hydrated";

const created = z.object({ scanId: z.string() }).loose();

/** "Scan this cluster": starts a scan of one cluster (POST /api/scans) and links to its progress. */
export function ScanClusterButton({ cluster }: { cluster: string }) {
  const hydrated = useHydrated();
  const [state, setState] = useState<{ busy: boolean; done?: boolean; error?: string }>({ busy: false });
  return (
    <span className="flex flex-wrap items-center gap-2" data-hydrated={hydrated}>
      <button
        type="button"
        className={buttonClass}
        disabled={state.busy}
        onClick={async () => {
          setState({ busy: true });
          try {
            await sendJson("/api/scans", "POST", { cluster }, created);
            setState({ busy: false, done: true });
          } catch (err) {
            setState({ busy: false, error: (err as Error).message });
          }
        }}
      >
        {state.busy ? "Starting…" : "Scan this cluster"}
      </button>
      <span role="status" className="text-sm">
        {state.done && (
          <>
            Scan queued: <TextLink href={links.scans()}>follow its progress</TextLink>
          </>
        )}
        {state.error && <span className="text-red-700 dark:text-red-400">{state.error}</span>}
      </span>
    </span>
  );
}
