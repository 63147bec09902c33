"use client";

import { useState, type FormEvent } from "react";
import { errorMessage, sendJson } from "@/components/auth/send-json";

const input =
  "mt-1 block w-full rounded border border-slate-300 bg-white px-3 py-2 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-700 dark:bg-slate-900";

/** Creates the first administrator from a one-time setup link. */
export function SetupForm({ token }: { token: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    if (form.get("password") !== form.get("confirm")) {
      setError("The passwords differ.");
      return;
    }
    setBusy(true);
    setError(null);
    const res = await sendJson("/api/auth/setup", "POST", {
      token,
      name: form.get("name"),
      email: form.get("email"),
      password: form.get("password"),
    });
    if (res.ok) {
      window.location.assign("/");
      return;
    }
    setBusy(false);
    setError(errorMessage(res.data, "Could not create the administrator."));
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" aria-label="Create the first administrator">
      <label className="block text-sm">
        Name
        <input name="name" required maxLength={100} autoComplete="name" className={input} />
      </label>
      <label className="block text-sm">
        Email
        <input name="email" type="email" required autoComplete="username" className={input} />
      </label>
      <label className="block text-sm">
        Password (at least 12 characters)
        <input name="password" type="password" required minLength={12} autoComplete="new-password" className={input} />
      </label>
      <label className="block text-sm">
        Password again
        <input name="confirm" type="password" required minLength={12} autoComplete="new-password" className={input} />
      </label>
      {error && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy} className="w-full rounded bg-teal-700 px-3 py-2 text-sm font-medium text-white hover:bg-teal-800 disabled:opacity-60">
        Create administrator
      </button>
    </form>
  );
}
