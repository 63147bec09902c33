"use client";

import { useState, type FormEvent } from "react";
import { errorMessage, sendJson } from "@/components/auth/send-json";

const input =
  "mt-1 block w-full rounded border border-slate-300 bg-white px-3 py-2 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-700 dark:bg-slate-900";
const button = "w-full rounded bg-teal-700 px-3 py-2 text-sm font-medium text-white hover:bg-teal-800 disabled:opacity-60";

/** Email + password sign-in, and the single sign-on button when OIDC is configured. */
export function SignInForm({ sso }: { sso: { name: string } | null }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    const res = await sendJson("/api/auth/sign-in/email", "POST", { email: form.get("email"), password: form.get("password") });
    if (res.ok) {
      window.location.assign("/");
      return;
    }
    setBusy(false);
    setError(
      res.status === 429
        ? "Too many sign-in attempts. Wait a minute and try again."
        : res.status === 401
          ? "Wrong email or password."
          : errorMessage(res.data, "Sign-in failed."),
    );
  }

  async function onSso() {
    setBusy(true);
    setError(null);
    const res = await sendJson("/api/auth/sign-in/social", "POST", { provider: "oidc", callbackURL: "/", errorCallbackURL: "/sign-in" });
    const url = res.ok && res.data && typeof res.data === "object" ? (res.data as { url?: unknown }).url : undefined;
    if (typeof url === "string") {
      window.location.assign(url);
      return;
    }
    setBusy(false);
    setError(errorMessage(res.data, "Single sign-on is not available right now."));
  }

  return (
    <div className="space-y-6">
      {sso && (
        <>
          <button type="button" onClick={onSso} disabled={busy} className={button} data-testid="sso-sign-in">
            Sign in with {sso.name}
          </button>
          <div className="text-center text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">or</div>
        </>
      )}
      <form onSubmit={onSubmit} className="space-y-4" aria-label="Sign in with email">
        <label className="block text-sm">
          Email
          <input name="email" type="email" autoComplete="username" required className={input} />
        </label>
        <label className="block text-sm">
          Password
          <input name="password" type="password" autoComplete="current-password" required className={input} />
        </label>
        {error && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy} className={button}>
          Sign in
        </button>
      </form>
    </div>
  );
}
