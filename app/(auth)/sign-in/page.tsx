import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { z } from "zod";
import { AuthFrame } from "@/components/auth/auth-frame";
import { SignInForm } from "@/components/auth/sign-in-form";
import { isOidcConfigured } from "@/lib/auth/auth";
import { getCurrentUser } from "@/lib/auth/current-user";
import { announceSetupLink, hasAnyUser } from "@/lib/auth/setup";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";

export const metadata: Metadata = { title: "Sign in" };

/** Messages for the `error` codes single sign-on redirects back with; anything else is generic. */
const SSO_ERRORS: Record<string, string> = {
  no_role: "Your account is in none of the groups that grant access to Signet.",
  account_not_linked: "A local account already uses this email address; sign in with the password instead.",
  state_mismatch: "The sign-in took too long or was started in another tab. Try again.",
  please_restart_the_process: "The sign-in took too long or was started in another tab. Try again.",
};

const searchSchema = z.object({ error: z.string().max(100).optional() });

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  if (await getCurrentUser()) redirect("/");
  const env = getEnv();
  const db = getDb();
  const anyUser = await hasAnyUser(db);
  // the link printed at start may have expired: issue another if no valid one is outstanding
  if (!anyUser) await announceSetupLink(db, env, { rotate: false });
  const parsed = searchSchema.safeParse(await searchParams);
  const code = parsed.success ? parsed.data.error : undefined;
  return (
    <AuthFrame title="Sign in">
      {!anyUser && (
        <div data-testid="setup-notice" className="mb-4 rounded border border-teal-300 bg-teal-50 p-3 text-sm dark:border-teal-800 dark:bg-teal-950">
          No administrator exists yet. Open the one-time setup link printed as a banner on the server&apos;s output, or run{" "}
          <code>signet users create-admin</code>.
        </div>
      )}
      {code && (
        <p role="alert" className="mb-4 text-sm text-red-700 dark:text-red-400">
          {SSO_ERRORS[code] ?? "Single sign-on failed. Try again, or ask an administrator to check the server log."}
        </p>
      )}
      <SignInForm sso={isOidcConfigured(env) ? { name: env.SIGNET_OIDC_NAME } : null} />
    </AuthFrame>
  );
}
