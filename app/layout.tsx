import type { Metadata } from "next";
import type { ReactNode } from "react";
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

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="antialiased">{children}</body>
    </html>
  );
}
