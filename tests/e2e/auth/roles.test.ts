import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "@/lib/db/embedded";
import { createFirstAdmin, signInInBrowser, waitForSetupLink } from "@/tests/support/auth-browser";
import { ARTIFACTS, launchChromium, watchPageErrors } from "@/tests/support/browser";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";

const SECRET = "e2e-registry-token-4b8d1f0a9c";

/**
 * Roles in the browser against the production build: an admin creates a user and registry
 * credentials (admin-only) through the pages; a viewer sees no admin controls and is refused by
 * the server anyway. Pages carry a nonce-based CSP; the stored secret appears in no page or log line.
 */
describe("roles in the browser", () => {
  let dataDir: string;
  let port: number;
  let base: string;
  let app: Spawned;
  let browser: Browser;
  const admin = { name: "Ada Admin", email: "ada@example.test", password: "ada's admin password" };
  const viewer = { name: "Vic Viewer", email: "vic@example.test", password: "vic's viewer password" };

  /** Fails on any console error (a CSP violation is one) or uncaught page error. */
  const watchErrors = (page: Page) => watchPageErrors(page);

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-e2e-auth-"));
    port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
    await fs.mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    // debug: the most a log could ever say about the secret
    app = spawnTs("scripts/launch.ts", [], { DATABASE_URL: "", SIGNET_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "debug", SIGNET_NO_WORKER: "1" });
    await waitFor(async () => ((await fetch(`${base}/sign-in`)).status === 200 ? true : undefined), 90_000, "the sign-in page");
  });
  afterAll(async () => {
    await browser?.close();
    if (app && app.proc.exitCode === null) {
      app.proc.kill("SIGTERM");
      await app.exited;
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("lets an admin add a user and registry credentials, under a nonce CSP, never showing the secret", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    await createFirstAdmin(page, await waitForSetupLink(() => app.output()), admin);

    const res = await page.goto(`${base}/admin/users`);
    await page.getByTestId("users-table").waitFor();
    const headers = (await res?.allHeaders()) ?? {};
    const csp = headers["content-security-policy"] ?? "";
    const scriptSrc = csp.split(";").map((d) => d.trim()).find((d) => d.startsWith("script-src")) ?? "";
    expect(scriptSrc).toMatch(/'nonce-[A-Za-z0-9+/=]{16,}'/);
    expect(scriptSrc).not.toContain("unsafe-inline");
    expect(scriptSrc).not.toContain("unsafe-eval");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(await page.getByTestId("user-role").textContent()).toBe("admin");

    await page.locator('form[aria-label="Add a user"] input[name="name"]').fill(viewer.name);
    await page.locator('form[aria-label="Add a user"] input[name="email"]').fill(viewer.email);
    await page.locator('form[aria-label="Add a user"] input[name="password"]').fill(viewer.password);
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByTestId(`user-${viewer.email}`).waitFor();
    expect(await page.getByTestId(`user-${viewer.email}`).textContent()).toContain("viewer");

    await page.getByRole("navigation", { name: "Administration" }).getByRole("link", { name: "Registry credentials" }).click();
    await page.waitForURL(`${base}/admin/credentials`);
    await page.locator('input[name="host"]').fill("registry.e2e.test:5000");
    await page.locator('input[name="username"]').fill("robot");
    await page.locator('input[name="secret"]').fill(SECRET);
    await page.getByRole("button", { name: "Add credentials" }).click();
    const row = page.getByTestId("credential-registry.e2e.test:5000");
    await row.waitFor();
    expect(await row.textContent()).toContain("stored (encrypted)");
    expect(await page.content()).not.toContain(SECRET);
    await page.screenshot({ path: path.join(ARTIFACTS, "admin-credentials.png"), fullPage: true });

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${base}/sign-in`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows a viewer no admin controls, and the server refuses them anyway", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    await signInInBrowser(page, base, viewer.email, viewer.password);
    expect(await page.getByTestId("user-role").textContent()).toBe("viewer");
    expect(await page.getByRole("navigation", { name: "Administration" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Registry credentials" }).count()).toBe(0);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Overview");

    await page.goto(`${base}/admin/credentials`);
    await page.getByTestId("forbidden").waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("forbidden").isVisible()).toBe(true);
    expect(await page.locator('input[name="secret"]').count()).toBe(0);
    expect(await page.getByTestId("credentials-table").count()).toBe(0);

    const api = await page.evaluate(async () => {
      const list = await fetch("/api/registry-credentials");
      const create = await fetch("/api/registry-credentials", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ host: "evil.test" }) });
      return [list.status, create.status];
    });
    expect(api).toEqual([403, 403]);
    await page.screenshot({ path: path.join(ARTIFACTS, "viewer-forbidden.png"), fullPage: true });
    // the forbidden responses above are expected console errors of fetch; nothing else may fail
    expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
    await page.close();
  });

  it("never writes the stored secret to a log line", () => {
    expect(app.output().length).toBeGreaterThan(0);
    expect(app.output()).not.toContain(SECRET);
  });
});
