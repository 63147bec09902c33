"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorMessage, sendJson } from "@/components/auth/send-json";
import { Field, fieldInputClass, JsonForm } from "@/components/json-form";

const text = (f: FormData, k: string) => {
  const v = String(f.get(k) ?? "").trim();
  return v === "" ? undefined : v;
};

/** Adds registry credentials; the secret goes to the server once and is never shown again. */
export function RegistryCredentialForm() {
  return (
    <JsonForm
      label="Add registry credentials"
      url="/api/registry-credentials"
      method="POST"
      submit="Add credentials"
      fallback="Could not save the credentials."
      toBody={(f) => ({ host: text(f, "host"), username: text(f, "username"), secret: text(f, "secret"), insecure: f.get("insecure") === "on" })}
    >
      <Field name="host" label="Registry host" wide>
        <input name="host" required placeholder="ghcr.io or registry.local:5000" className={fieldInputClass} />
      </Field>
      <Field name="username" label="Username">
        <input name="username" autoComplete="off" className={fieldInputClass} />
      </Field>
      <Field name="secret" label="Password or token">
        <input name="secret" type="password" autoComplete="new-password" className={fieldInputClass} />
      </Field>
      <label className="flex items-center gap-2 text-sm sm:col-span-2">
        <input name="insecure" type="checkbox" /> Plain HTTP / unverified TLS (test registries only)
      </label>
    </JsonForm>
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
