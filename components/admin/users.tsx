"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorMessage, sendJson } from "@/components/auth/send-json";
import { Field, fieldInputClass, JsonForm } from "@/components/json-form";
import { ROLES, type Role } from "@/lib/auth/roles";

/** Creates a user who signs in with email + password. */
export function NewUserForm() {
  return (
    <JsonForm
      label="Add a user"
      url="/api/users"
      method="POST"
      submit="Add user"
      fallback="Could not create the user."
      toBody={(f) => ({ email: f.get("email"), name: f.get("name"), password: f.get("password"), role: f.get("role") })}
    >
      <Field name="name" label="Name">
        <input name="name" required maxLength={100} className={fieldInputClass} />
      </Field>
      <Field name="email" label="Email">
        <input name="email" type="email" required autoComplete="off" className={fieldInputClass} />
      </Field>
      <Field name="password" label="Initial password (12+ characters)">
        <input name="password" type="password" required minLength={12} autoComplete="new-password" className={fieldInputClass} />
      </Field>
      <Field name="role" label="Role">
        <select name="role" defaultValue="viewer" className={fieldInputClass}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </Field>
    </JsonForm>
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
