import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "@/lib/db/embedded";
import { createFirstAdmin, signInInBrowser, waitForSetupLink } from "@/tests/support/auth-browser";
import { ARTIFACTS, launchChromium } from "@/tests/support/browser";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";

/**
 * The README's start path, for real: the production build, web + worker + embedded PostgreSQL with
 * no DATABASE_URL, driven by Debian's chromium. Then a restart on the same data directory.
 */
describe("npm start on the embedded default", () => {
  let dataDir: string;
  let port: number;
  let app: Spawned | undefined;
  let browser: Browser;
  const admin = { name: "First Admin", email: "admin@example.test", password: "first admin password" };

  const start = () =>
    spawnTs("scripts/launch.ts", [], { DATABASE_URL: "", SIGNET_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn" });
  const healthStatus = async () => (await fetch(`http://127.0.0.1:${port}/api/health`)).status;
  const stop = async (a: Spawned) => {
    a.proc.kill("SIGTERM");
    return a.exited;
  };

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-e2e-"));
    port = await findFreePort();
    await fs.mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (app && app.proc.exitCode === null) await stop(app);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("reaches a healthy /api/health from an empty data dir, and renders the shell", async () => {
    const t0 = Date.now();
    app = start();
    await waitFor(async () => ((await healthStatus()) === 200 ? true : undefined), 60_000, "health 200");
    const ms = Date.now() - t0;
    console.info(`[measure] cold start to healthy: ${ms} ms`);
    // anonymous callers see the verdicts only (details are for signed-in users)
    expect(await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.json())).toEqual({
      status: "ok",
      checks: { database: { ok: true }, migrations: { ok: true }, worker: { ok: true } },
    });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // nothing is shown before sign-in; the first start offers a one-time link to create the first admin
    await page.goto(`http://127.0.0.1:${port}/`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
    // pages stream behind a loading boundary: wait for the content to be revealed before asserting on it
    await page.getByTestId("setup-notice").waitFor();
    expect(await page.getByTestId("setup-notice").isVisible()).toBe(true);
    await createFirstAdmin(page, await waitForSetupLink(() => app!.output()), admin);

    const res = await page.goto(`http://127.0.0.1:${port}/`);
    expect(res?.status()).toBe(200);
    await page.getByTestId("stat-clusters").waitFor();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Overview");
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link").first().textContent()).toBe("Overview");
    expect(await page.getByTestId("stat-clusters").textContent()).toBe("0");
    // a fresh install: the first-run checklist (cluster → key → policy → scan), nothing done yet
    expect(await page.getByTestId("first-run").isVisible()).toBe(true);
    expect(await page.getByTestId("first-run-scan").getAttribute("data-done")).toBe("false");
    expect(await page.getByTestId("health-worker").textContent()).toContain("✓");
    expect((await res?.allHeaders())?.["x-content-type-options"]).toBe("nosniff");
    // the icon a browser asks for when a page names none yet (streamed metadata) or a tool asks for by convention
    for (const icon of ["/favicon.ico", "/favicon.svg"]) {
      const r = await fetch(`http://127.0.0.1:${port}${icon}`);
      expect(r.status, icon).toBe(200);
      expect(r.headers.get("content-type"), icon).toMatch(icon.endsWith(".ico") ? /^image\/(x-icon|vnd\.microsoft\.icon)/ : /^image\/svg\+xml/);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "overview-empty.png"), fullPage: true });
    await page.close();
  });

  it("stops cleanly on SIGTERM, and keeps the data across a restart", async () => {
    const state = JSON.parse(await fs.readFile(path.join(dataDir, "postgres.json"), "utf8")) as {
      port: number; user: string; password: string; database: string;
    };
    expect((await fs.stat(path.join(dataDir, "postgres.json"))).mode & 0o777).toBe(0o600);
    // the embedded default generated its secret key for secrets at rest, readable by the owner only
    expect((await fs.stat(path.join(dataDir, "secret.key"))).mode & 0o777).toBe(0o600);
    const url = `postgresql://${state.user}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${state.database}`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`INSERT INTO "Cluster" (id, name, "updatedAt") VALUES (gen_random_uuid(), 'persisted-cluster', now())`);
    await client.end();

    const exit = await stop(app!);
    expect(exit.code, app!.output().slice(-3000)).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/api/health`)).rejects.toThrow();
    // PostgreSQL is down too: the remembered port refuses connections
    const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    await expect(probe.connect()).rejects.toThrow();

    app = start();
    await waitFor(async () => ((await healthStatus()) === 200 ? true : undefined), 60_000, "health 200 after restart");
    const again = JSON.parse(await fs.readFile(path.join(dataDir, "postgres.json"), "utf8")) as { port: number };
    expect(again.port).toBe(state.port);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
    // a user exists now: no setup link any more
    await page.locator('input[name="email"]').waitFor();
    expect(await page.getByTestId("setup-notice").count()).toBe(0);
    await signInInBrowser(page, `http://127.0.0.1:${port}`, admin.email, admin.password);
    // the row written before the restart is still there (the overview's figures come from coverage
    // snapshots, of which there is none: the clusters page lists the stored clusters)
    await page.goto(`http://127.0.0.1:${port}/clusters`);
    await page.getByTestId("cluster-row-persisted-cluster").waitFor();
    await page.close();
  });
});
