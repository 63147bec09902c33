"use client";

import { useRouter } from "next/navigation";
import { cloneElement, createContext, isValidElement, useContext, useId, useState, type FormEvent, type ReactElement, type ReactNode } from "react";
import { sendJson } from "@/components/auth/send-json";
import { readFormErrors, type FormErrors } from "@/lib/ui/field-errors";
import { useHydrated } from "@/lib/ui/use-hydrated";

/**
 * The one form of the dashboard's admin pages (keys, registry credentials, webhooks, users, trusted
 * roots, settings): posts its fields as JSON and shows the server's answer where it belongs — each
 * field's problem under that field (marked aria-invalid and described by it), the rest above the
 * button. Fields are declared with <Field>.
 */

export const fieldInputClass =
  "mt-1 block w-full rounded border border-slate-300 bg-white px-3 py-1.5 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 aria-[invalid=true]:border-red-600 dark:border-slate-700 dark:bg-slate-900 dark:aria-[invalid=true]:border-red-400";
const button = "rounded bg-teal-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-teal-800 disabled:opacity-60";

const Ctx = createContext<{ formId: string; fields: Record<string, string> }>({ formId: "", fields: {} });

export function JsonForm({
  label,
  url,
  method,
  submit,
  toBody,
  fieldOf,
  children,
  onDone,
  className = "grid max-w-xl grid-cols-1 gap-3 sm:grid-cols-2",
  fallback = "The request failed.",
}: {
  label: string;
  url: string;
  method: string;
  submit: string;
  toBody: (f: FormData) => unknown;
  /** Request body paths → input names, where they differ (e.g. publicKeyPem → pem). */
  fieldOf?: Record<string, string>;
  children: ReactNode;
  onDone?: (data: unknown) => void;
  className?: string;
  fallback?: string;
}) {
  const router = useRouter();
  const formId = useId();
  const hydrated = useHydrated();
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    setBusy(true);
    setErrors(null);
    const res = await sendJson(url, method, toBody(new FormData(formEl))).catch(() => ({ ok: false, status: 0, data: null }));
    setBusy(false);
    if (!res.ok) {
      const inputs = [...formEl.elements].map((el) => (el as HTMLInputElement).name).filter(Boolean);
      const found = readFormErrors(res.data, { fieldOf, inputs, fallback: res.status === 0 ? "The server could not be reached." : fallback });
      setErrors(found);
      const first = Object.keys(found.fields)[0];
      if (first) (formEl.elements.namedItem(first) as HTMLElement | null)?.focus?.();
      return;
    }
    formEl.reset();
    if (onDone) onDone(res.data);
    else router.refresh();
  }
  return (
    <Ctx.Provider value={{ formId, fields: errors?.fields ?? {} }}>
      <form onSubmit={onSubmit} aria-label={label} className={className} data-hydrated={hydrated} noValidate>
        {children}
        {errors && (
          <div role="alert" className="text-sm text-red-700 sm:col-span-2 dark:text-red-400" data-testid="form-error">
            <p>{errors.message}</p>
            {errors.other.length > 0 && (
              <ul className="mt-1 list-disc pl-5 text-xs">
                {errors.other.map((o) => (
                  <li key={o}>{o}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div className="sm:col-span-2">
          <button type="submit" disabled={busy} className={button}>
            {busy ? "Working…" : submit}
          </button>
        </div>
      </form>
    </Ctx.Provider>
  );
}

/** A labelled input of a JsonForm; the server's problem with it is shown under it. `wide` spans both columns. */
export function Field({ name, label, children, wide = false }: { name: string; label: ReactNode; children: ReactElement<Record<string, unknown>>; wide?: boolean }) {
  const { formId, fields } = useContext(Ctx);
  const error = fields[name];
  const errorId = `${formId}-${name}-error`;
  const control = isValidElement(children) ? cloneElement(children, { "aria-invalid": error ? true : undefined, "aria-describedby": error ? errorId : undefined }) : children;
  return (
    <div className={wide ? "sm:col-span-2" : undefined}>
      <label className="block text-sm">
        {label}
        {control}
      </label>
      {error && (
        <p id={errorId} className="mt-1 text-xs text-red-700 dark:text-red-400" data-testid={`field-error-${name}`}>
          {error}
        </p>
      )}
    </div>
  );
}
