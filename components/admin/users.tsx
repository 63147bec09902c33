"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { errorMessage, sendJson } from "@/components/auth/send-json";
import { ROLES, type Role } from "@/lib/auth/roles";

const input =
  "mt-1 block w-full rounded border border-slate-300 bg-white px-3 py-1.5 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-700 dark:bg-slate-900";

/** Creates a user who signs in with email + password. */
export function NewUserForm() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    setBusy(true);
    setError(null);
    const res = await sendJson("/api/users", "POST", {
      email: form.get("email"),
      name: form.get("name"),
      password: form.get("password"),
      role: form.get("role"),
    });
    setBusy(false);
    if (!res.ok) {
      setError(errorMessage(res.data, "Could not create the user."));
      return;
    }
    formEl.reset();
    router.refresh();
  }

  return (
    <form onSubmit={onSubmit} aria-label="Add a user" className="grid max-w-xl grid-cols-2 gap-3">
      <label className="block text-sm">
        Name
        <input name="name" required maxLength={100} className={input} />
      </label>
      <label className="block text-sm">
        Email
        <input name="email" type="email" required autoComplete="off" className={input} />
      </label>
      <label className="block text-sm">
        Initial password (12+ characters)
        <input name="password" type="password" required minLength={12} autoComplete="new-password" className={input} />
      </label>
      <label className="block text-sm">
        Role
        <select name="role" defaultValue="viewer" className={input}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p role="alert" className="col-span-2 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      <div className="col-span-2">
        <button type="submit" disabled={busy} className="rounded bg-teal-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-teal-800 disabled:opacity-60">
          Add user
        </button>
      </div>
    </form>
  );
}

/** Changes a user's role in place. */
export function RoleSelect({ userId, role, label }: { userId: string; role: Role; label: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  return (
    <span>
      <select
        aria-label={label}
        defaultValue={role}
        className="rounded border border-slate-300 bg-white px-1 py-0.5 text-xs dark:border-slate-700 dark:bg-slate-900"
        onChange={async (e) => {
          const res = await sendJson(`/api/users/${encodeURIComponent(userId)}`, "PATCH", { role: e.target.value });
          if (res.ok) router.refresh();
          else setError(errorMessage(res.data, "Could not change the role."));
        }}
      >
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      {error && (
        <span role="alert" className="ml-2 text-xs text-red-700">
          {error}
        </span>
      )}
    </span>
  );
}
