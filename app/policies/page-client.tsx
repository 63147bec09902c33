"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import { buttonClass, primaryButtonClass } from "@/components/ui";
import { clusterImportResultDto, POLICY_MAX_CHARACTERS, policySaveResultDto, type ClusterImportResultDto, type PolicySaveResultDto } from "@/lib/dto/dashboard";
import { ApiRequestError, sendJson } from "@/lib/ui/fetch-json";
import { formatBytes } from "@/lib/ui/field-errors";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";

/** The server's problems with a policy, readable: the request's own field ("yaml") is the document itself. */
function problemsOf(err: unknown): string[] {
  if (err instanceof ApiRequestError && Array.isArray(err.details)) {
    return err.details.map((d) => {
      if (typeof d === "string") return d;
      if (d && typeof d === "object" && "message" in d) {
        const path = (d as { path?: string }).path ?? "";
        const message = (d as { message: string }).message;
        return path && path !== "yaml" ? `${path}: ${message}` : message;
      }
      return JSON.stringify(d);
    });
  }
  return [];
}

/** What is wrong with a document before it is sent: empty, or larger than the server accepts. */
function localProblem(text: string): string | null {
  if (!text.trim()) return "The policy is empty: write a policy document or upload a file.";
  if (text.length > POLICY_MAX_CHARACTERS) {
    const size = new Blob([text]).size;
    return `The policy is ${formatBytes(size)}; a policy may hold at most ${POLICY_MAX_CHARACTERS / 1024} Ki characters. Split it into several files.`;
  }
  return null;
}

/**
 * The admin's policy editor: YAML in a textarea or from an uploaded file, validated by the server
 * (parsePolicyDocuments) and saved as a new version; verdicts are then re-evaluated by the worker.
 * Create mode also offers importing the clusters' policies (read-only copies).
 */
export function PolicyEditor({ initialYaml, mode }: { initialYaml: string; mode: "create" | "edit" }) {
  const router = useRouter();
  const qc = useQueryClient();
  const id = useId();
  const hydrated = useHydrated();
  const [yaml, setYaml] = useState(initialYaml);
  const [notice, setNotice] = useState<string | null>(null);
  const [local, setLocal] = useState<string | null>(null);
  const submit = (text: string) => {
    setNotice(null);
    const problem = localProblem(text);
    setLocal(problem);
    if (problem) {
      save.reset();
      return;
    }
    save.mutate(text);
  };
  const save = useMutation({
    mutationFn: (text: string) => sendJson("/api/policies", "POST", { yaml: text }, policySaveResultDto),
    onSuccess: (r: PolicySaveResultDto) => {
      setNotice(
        r.saved.map((s) => (s.changed ? `Saved ${s.name} as version ${s.version}.` : `${s.name}: no change.`)).join(" ") +
          (r.reevaluationQueued ? " Verdicts are being re-evaluated." : ""),
      );
      void qc.invalidateQueries({ queryKey: queryKeys.all });
      router.refresh();
    },
  });
  const importCluster = useMutation({
    mutationFn: () => sendJson("/api/policies/import-cluster", "POST", {}, clusterImportResultDto),
    onSuccess: (r: ClusterImportResultDto) => {
      setNotice(
        `Read ${r.clusters.map((c) => `${c.cluster}: ${c.error ? `error (${c.error})` : `${c.found} policies`}`).join(", ") || "no cluster"}; imported ${r.saved.length}.` +
          (r.problems.length ? ` Not importable: ${r.problems.join("; ")}` : ""),
      );
      router.refresh();
    },
  });
  const error = local ? new Error(local) : (save.error ?? importCluster.error);
  const problems = local ? [] : problemsOf(save.error);
  return (
    <form
      data-hydrated={hydrated}
      aria-label={mode === "create" ? "New policy" : "Edit policy"}
      onSubmit={(e) => {
        e.preventDefault();
        submit(yaml);
      }}
    >
      <label htmlFor={`${id}-yaml`} className="text-xs text-slate-600 dark:text-slate-400">
        Policy document (YAML; several documents separated by ---)
      </label>
      <textarea
        id={`${id}-yaml`}
        name="yaml"
        value={yaml}
        onChange={(e) => setYaml(e.target.value)}
        spellCheck={false}
        rows={16}
        className="mt-1 w-full rounded border border-slate-300 bg-white p-2 font-mono text-xs focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-700 dark:bg-slate-950"
        aria-invalid={problems.length > 0 || !!local}
        aria-describedby={`${id}-status`}
      />
      <div className="mt-2 flex flex-wrap items-center gap-2">
        <button type="submit" className={primaryButtonClass} disabled={save.isPending}>
          {save.isPending ? "Saving…" : mode === "create" ? "Create policy" : "Save new version"}
        </button>
        <label className={`${buttonClass} cursor-pointer`}>
          Upload YAML…
          <input
            type="file"
            accept=".yaml,.yml,.json,application/yaml,text/yaml"
            className="sr-only"
            data-testid="policy-upload"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              const text = await file.text();
              setYaml(text);
              submit(text);
              e.target.value = "";
            }}
          />
        </label>
        {mode === "create" && (
          <button type="button" className={buttonClass} disabled={importCluster.isPending} onClick={() => importCluster.mutate()}>
            {importCluster.isPending ? "Reading clusters…" : "Import from cluster"}
          </button>
        )}
      </div>
      <div id={`${id}-status`} aria-live="polite" className="mt-2 text-sm">
        {notice && (
          <p className="text-emerald-700 dark:text-emerald-400" data-testid="policy-saved">
            {notice}
          </p>
        )}
        {error && (
          <div role="alert" className="text-red-700 dark:text-red-400" data-testid="policy-error">
            <p>{error.message}</p>
            {problems.length > 0 && (
              <ul className="mt-1 list-disc pl-5 font-mono text-xs">
                {problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </form>
  );
}
