import type { Metadata } from "next";
import { headers } from "next/headers";
import type { ReactNode } from "react";
import { Providers } from "@/components/providers";
import { THEME_BOOT_SCRIPT } from "@/lib/ui/theme";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Signet", template: "%s · Signet" },
  description: "Which images running in your clusters are provably signed by someone you trust.",
  icons: { icon: "/favicon.svg" },
  // the dashboard maps an organisation's supply-chain weaknesses: keep it out of search engines
  robots: { index: false, follow: false },
};

// Every page renders per request: pages depend on the signed-in user, and the CSP nonce that
// proxy.ts issues per request only reaches scripts of dynamically rendered pages.
export const dynamic = "force-dynamic";

export default async function RootLayout({ children }: { children: ReactNode }) {
  // the theme is applied before the first paint by a tiny inline script, allowed by the CSP nonce
  const nonce = (await headers()).get("x-nonce") ?? undefined;
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: THEME_BOOT_SCRIPT }} />
      </head>
      <body className="antialiased bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
