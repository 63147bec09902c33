import type { Metadata } from "next";
import Link from "next/link";
import { z } from "zod";
import { AuthFrame } from "@/components/auth/auth-frame";
import { SetupForm } from "@/components/auth/setup-form";
import { isSetupTokenValid } from "@/lib/auth/setup";
import { getDb } from "@/lib/db/client";

export const metadata: Metadata = { title: "Create the first administrator" };

const searchSchema = z.object({ token: z.string().min(20).max(200) });

export default async function SetupPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const parsed = searchSchema.safeParse(await searchParams);
  const valid = parsed.success && (await isSetupTokenValid(getDb(), parsed.data.token));
  return (
    <AuthFrame title="Create the first administrator">
      {valid && parsed.success ? (
        <SetupForm token={parsed.data.token} />
      ) : (
        <div role="alert" data-testid="setup-invalid" className="text-sm">
          <p>This setup link is invalid, already used or expired.</p>
          <p className="mt-2 text-slate-600 dark:text-slate-400">
            Restart Signet (it prints a new link while no user exists) or run <code>signet users setup-link</code>.
          </p>
          <Link href="/sign-in" className="mt-4 inline-block text-teal-700 underline">
            Go to sign-in
          </Link>
        </div>
      )}
    </AuthFrame>
  );
}
