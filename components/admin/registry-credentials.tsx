"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { errorMessage, sendJson } from "@/components/auth/send-json";

const input =
  "mt-1 block w-full rounded border border-slate-300 bg-white px-3 py-1.5 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-700 dark:bg-slate-900";

/** Adds registry credentials; the secret goes to the server once and is never shown again. */
export function RegistryCredentialForm() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    const text = (k: string) => {
      const v = String(form.get(k) ?? "").trim();
      return v === "" ? undefined : v;
    };
    setBusy(true);
    setError(null);
    const res = await sendJson("/api/registry-credentials", "POST", {
      host: text("host"),
      username: text("username"),
      secret: text("secret"),
      insecure: form.get("insecure") === "on",
    });
    setBusy(false);
    if (!res.ok) {
      setError(errorMessage(res.data, "Could not save the credentials."));
      return;
    }
    formEl.reset();
    router.refresh();
  }

  return (
    <form onSubmit={onSubmit} aria-label="Add registry credentials" className="grid max-w-xl grid-cols-2 gap-3">
      <label className="col-span-2 block text-sm">
        Registry host
        <input name="host" required placeholder="ghcr.io or registry.local:5000" className={input} />
      </label>
      <label className="block text-sm">
        Username
        <input name="username" autoComplete="off" className={input} />
      </label>
      <label className="block text-sm">
        Password or token
        <input name="secret" type="password" autoComplete="new-password" className={input} />
      </label>
      <label className="col-span-2 flex items-center gap-2 text-sm">
        <input name="insecure" type="checkbox" /> Plain HTTP / unverified TLS (test registries only)
      </label>
      {error && (
        <p role="alert" className="col-span-2 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      <div className="col-span-2">
        <button type="submit" disabled={busy} className="rounded bg-teal-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-teal-800 disabled:opacity-60">
          Add credentials
        </button>
      </div>
    </form>
  );
}

export function DeleteButton({ url, label }: { url: string; label: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  return (
    <span>
      <button
        type="button"
        aria-label={label}
        className="text-xs text-red-700 underline dark:text-red-400"
        onClick={async () => {
          const res = await sendJson(url, "DELETE");
          if (res.ok) router.refresh();
          else setError(errorMessage(res.data, "Could not delete."));
        }}
      >
        Delete
      </button>
      {error && (
        <span role="alert" className="ml-2 text-xs text-red-700">
          {error}
        </span>
      )}
    </span>
  );
}
