"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorMessage, sendJson } from "@/components/auth/send-json";
import { Field, fieldInputClass, JsonForm } from "@/components/json-form";

const inputClass = fieldInputClass;

/** Dates are typed as ISO days (YYYY-MM-DD), the one format the dashboard shows, whatever the browser's locale. */
const isoDateInput = { type: "text", inputMode: "numeric", placeholder: "YYYY-MM-DD", pattern: "\\d{4}-\\d{2}-\\d{2}", autoComplete: "off" } as const;

const text = (f: FormData, k: string) => {
  const v = String(f.get(k) ?? "").trim();
  return v === "" ? undefined : v;
};

export function AddKeyForm() {
  return (
    <JsonForm
      label="Add a key"
      url="/api/authorities"
      method="POST"
      submit="Add key"
      toBody={(f) => ({ name: text(f, "name"), publicKeyPem: text(f, "pem"), owner: text(f, "owner"), rotateBy: text(f, "rotateBy"), source: text(f, "source") ?? "manual" })}
      fieldOf={{ publicKeyPem: "pem" }}
    >
      <Field name="name" label="Name">
        <input name="name" required placeholder="release-2026" className={inputClass} />
      </Field>
      <Field name="owner" label="Owner">
        <input name="owner" placeholder="platform team" className={inputClass} />
      </Field>
      <Field name="pem" label="Public key (PEM, e.g. cosign.pub)" wide>
        <textarea name="pem" required rows={4} className={`${inputClass} font-mono text-xs`} />
      </Field>
      <Field name="rotateBy" label="Rotate by">
        <input name="rotateBy" {...isoDateInput} className={inputClass} />
      </Field>
      <Field name="source" label="Came from">
        <select name="source" className={inputClass} defaultValue="cosign.pub">
          <option value="cosign.pub">cosign.pub</option>
          <option value="file">file</option>
          <option value="cluster">cluster policy</option>
          <option value="manual">manual</option>
        </select>
      </Field>
    </JsonForm>
  );
}

export function RotateKeyForm({ from }: { from: string }) {
  return (
    <JsonForm
      label={`Rotate ${from}`}
      url={`/api/authorities/${encodeURIComponent(from)}/rotate`}
      method="POST"
      submit={`Rotate ${from}`}
      toBody={(f) => ({ newName: text(f, "newName"), publicKeyPem: text(f, "pem"), rotateBy: text(f, "rotateBy") })}
      fieldOf={{ publicKeyPem: "pem" }}
    >
      <Field name="newName" label="New key name">
        <input name="newName" required className={inputClass} />
      </Field>
      <Field name="rotateBy" label="Rotate the new key by">
        <input name="rotateBy" {...isoDateInput} className={inputClass} />
      </Field>
      <Field name="pem" label="New public key (PEM)" wide>
        <textarea name="pem" required rows={4} className={`${inputClass} font-mono text-xs`} />
      </Field>
    </JsonForm>
  );
}

/** The confirmation step of a revocation: type the name, give a reason. Shows the outcome. */
export function RevokeConfirmForm({ authorityRef, label }: { authorityRef: string; label: string }) {
  const [done, setDone] = useState<{ revoked: string; reevaluated: number; radius: { containers: number; workloads: number } } | null>(null);
  if (done) {
    return (
      <div role="status" data-testid="revoke-result" className="rounded border border-emerald-300 bg-emerald-50 p-4 text-sm dark:border-emerald-800 dark:bg-emerald-950">
        Revoked <strong>{done.revoked}</strong>. Re-evaluated {done.reevaluated} image(s): {done.radius.containers} container(s) in {done.radius.workloads}{" "}
        workload(s) now fail. <a href="/" className="underline">See the overview</a> · <a href="/keys" className="underline">Keys</a>
      </div>
    );
  }
  return (
    <JsonForm
      label="Confirm revocation"
      url={`/api/authorities/${encodeURIComponent(authorityRef)}/revoke`}
      method="POST"
      submit="Revoke now"
      toBody={(f) => ({ confirm: text(f, "confirm") ?? "", reason: text(f, "reason") ?? "" })}
      onDone={(d) => setDone(d as typeof done)}
    >
      <Field name="reason" label="Reason" wide>
        <input name="reason" required minLength={3} placeholder="private key leaked in CI logs" className={inputClass} />
      </Field>
      <Field
        name="confirm"
        wide
        label={
          <>
            Type <code className="break-all font-mono">{label}</code> to confirm
          </>
        }
      >
        <input name="confirm" required autoComplete="off" className={inputClass} />
      </Field>
    </JsonForm>
  );
}

export function SettingsForm({ retireSafeDays, reminderDays }: { retireSafeDays: number; reminderDays: number }) {
  return (
    <JsonForm
      label="Reminder settings"
      url="/api/reminders/settings"
      method="PATCH"
      submit="Save settings"
      toBody={(f) => ({ retireSafeDays: Number(f.get("retireSafeDays")), reminderDays: Number(f.get("reminderDays")) })}
    >
      <Field name="reminderDays" label="Remind days ahead">
        <input name="reminderDays" type="number" min={1} max={365} defaultValue={reminderDays} className={inputClass} />
      </Field>
      <Field name="retireSafeDays" label="Retire after empty for (days)">
        <input name="retireSafeDays" type="number" min={0} max={365} defaultValue={retireSafeDays} className={inputClass} />
      </Field>
    </JsonForm>
  );
}

export function AddWebhookForm({ events }: { events: readonly string[] }) {
  return (
    <JsonForm
      label="Add a webhook"
      url="/api/webhooks"
      method="POST"
      submit="Add webhook"
      toBody={(f) => ({ name: text(f, "name"), url: text(f, "url"), format: text(f, "format") ?? "generic", events: f.getAll("events").map(String) })}
    >
      <Field name="name" label="Name">
        <input name="name" required className={inputClass} />
      </Field>
      <Field name="format" label="Format">
        <select name="format" className={inputClass} defaultValue="generic">
          <option value="generic">generic JSON</option>
          <option value="slack">Slack-compatible</option>
        </select>
      </Field>
      <Field name="url" label="URL (stored encrypted, never shown again)" wide>
        <input name="url" type="password" required autoComplete="off" className={inputClass} />
      </Field>
      <fieldset className="text-sm sm:col-span-2">
        <legend>Events (none ticked: all)</legend>
        {events.map((e) => (
          <label key={e} className="mr-4 inline-flex items-center gap-1">
            <input type="checkbox" name="events" value={e} /> {e}
          </label>
        ))}
      </fieldset>
    </JsonForm>
  );
}

export function DeleteWebhookButton({ id, name }: { id: string; name: string }) {
  const router = useRouter();
  return (
    <button
      type="button"
      aria-label={`Delete webhook ${name}`}
      className="text-xs text-red-700 underline dark:text-red-400"
      onClick={async () => {
        await sendJson(`/api/webhooks/${id}`, "DELETE");
        router.refresh();
      }}
    >
      Delete
    </button>
  );
}

/** A pasted JSON document; unparsable text is sent as is, so the server names the problem. */
const jsonField = (f: FormData, k: string) => {
  const v = text(f, k);
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
};

export function AddTrustedRootForm() {
  return (
    <JsonForm label="Add a trusted root" url="/api/trusted-roots" method="POST" submit="Add trusted root" toBody={(f) => ({ name: text(f, "name"), trustedRoot: jsonField(f, "document") })} fieldOf={{ trustedRoot: "document" }}>
      <Field name="name" label="Name (what policies write in keyless.trustedRoot)">
        <input name="name" required className={inputClass} placeholder="corp-sigstore" />
      </Field>
      <Field name="document" label="trusted_root.json" wide>
        <textarea name="document" required rows={6} className={`${inputClass} font-mono text-xs`} placeholder='{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", …}' />
      </Field>
    </JsonForm>
  );
}

export function AddTufRepositoryForm() {
  return (
    <JsonForm
      label="Add a TUF repository"
      url="/api/trusted-roots"
      method="POST"
      submit="Add TUF repository"
      toBody={(f) => ({ name: text(f, "name"), tuf: { mirrorUrl: text(f, "mirrorUrl"), root: jsonField(f, "root") } })}
      fieldOf={{ "tuf.mirrorUrl": "mirrorUrl", "tuf.root": "root" }}
    >
      <Field name="name" label="Name">
        <input name="name" required className={inputClass} placeholder="corp-tuf" />
      </Field>
      <Field name="mirrorUrl" label="Mirror URL">
        <input name="mirrorUrl" type="url" required className={inputClass} placeholder="https://tuf.corp.example" />
      </Field>
      <Field name="root" label="Initial root.json (the trust anchor of the repository)" wide>
        <textarea name="root" required rows={4} className={`${inputClass} font-mono text-xs`} />
      </Field>
    </JsonForm>
  );
}

export function TrustedRootActions({ name, tuf }: { name: string; tuf: boolean }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const act = async (url: string, method: string) => {
    setError(null);
    const res = await sendJson(url, method);
    if (!res.ok) setError(errorMessage(res.data, "The request failed."));
    router.refresh();
  };
  return (
    <div className="flex flex-col items-start gap-1">
      {tuf && (
        <button type="button" aria-label={`Refresh ${name} now`} className="text-xs underline" onClick={() => act(`/api/trusted-roots/${encodeURIComponent(name)}/refresh`, "POST")}>
          Refresh now
        </button>
      )}
      <button type="button" aria-label={`Remove trusted root ${name}`} className="text-xs text-red-700 underline dark:text-red-400" onClick={() => act(`/api/trusted-roots/${encodeURIComponent(name)}`, "DELETE")}>
        Remove
      </button>
      {error && (
        <p role="alert" className="text-xs text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}
