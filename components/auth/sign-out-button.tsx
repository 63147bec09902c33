"use client";

import { sendJson } from "@/components/auth/send-json";

export function SignOutButton() {
  return (
    <button
      type="button"
      className="text-xs text-slate-600 underline hover:text-slate-900 dark:text-slate-400 dark:hover:text-slate-100"
      onClick={async () => {
        await sendJson("/api/auth/sign-out", "POST", {});
        window.location.assign("/sign-in");
      }}
    >
      Sign out
    </button>
  );
}
