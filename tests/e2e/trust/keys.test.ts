import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { findFreePort } from "@/lib/db/embedded";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";
import { checkImages, createScan, startScan, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createKeyAuthority } from "@/lib/trust/authorities";
import { createFirstAdmin, waitForSetupLink } from "@/tests/support/auth-browser";
import { ARTIFACTS, launchChromium, watchPageErrors } from "@/tests/support/browser";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { createCosignWorkspace, cosignSign, generateExtraKey, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { makePrivateSigstore } from "@/tests/support/sigstore-pki";

/**
 * The Keys and Reminders pages and the revocation flow in Chromium against the production build.
 * Real parts: cosign-signed images in a registry, pods in a kube-apiserver, scanned by the pipeline
 * into the app's own (embedded) database.
 *   solo (payments): signed by key A only      → fails once A is revoked
 *   dual (payments): signed by key A and key B → stays verified
 */
describe("keys, reminders and revocation in the browser", () => {
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let ws: CosignWorkspace;
  let dataDir: string;
  let base: string;
  let app: Spawned;
  let browser: Browser;
  let page: Page;
  let db: Db;
  const errors: string[] = [];
  const admin = { name: "Ada Admin", email: "ada@example.test", password: "ada's admin password" };

  beforeAll(async () => {
    let port: number;
    [kube, registry, ws, dataDir, port] = await Promise.all([
      startKubeApiserver(),
      startRegistry(),
      createCosignWorkspace(),
      fs.mkdtemp(path.join(os.tmpdir(), "signet-e2e-trust-")),
      findFreePort(),
    ]);
    base = `http://127.0.0.1:${port}`;
    app = spawnTs("scripts/launch.ts", [], { DATABASE_URL: "", SIGNET_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn", SIGNET_NO_WORKER: "1" });
    const h = registry.host;
    const keyB = await generateExtraKey(ws, "b");
    const [solo, dual] = await Promise.all(["solo", "dual"].map((n) => pushRandomImage(ws, h, `apps/${n}`, "v1")));
    await Promise.all([cosignSign(ws, `${h}/apps/solo@${solo}`, { bundle: false }), cosignSign(ws, `${h}/apps/dual@${dual}`, { bundle: false })]);
    await cosignSign(ws, `${h}/apps/dual@${dual}`, { bundle: true, key: keyB });
    await createNamespace(kube, "payments");
    for (const [n, d] of [["solo", solo!], ["dual", dual!]] as const) {
      await createPod(kube, { namespace: "payments", name: n, containers: [{ name: "app", image: `${h}/apps/${n}:v1` }] });
      await setPodStatus(kube, "payments", n, { containers: [{ name: "app", imageID: `${h}/apps/${n}@${d}` }] });
    }

    browser = await launchChromium();
    await waitFor(async () => ((await fetch(`${base}/sign-in`).catch(() => null))?.status === 200 ? true : undefined), 90_000, "the sign-in page");
    const state = JSON.parse(await fs.readFile(path.join(dataDir, "postgres.json"), "utf8")) as { port: number; user: string; password: string; database: string };
    const url = `postgresql://${encodeURIComponent(state.user)}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${state.database}`;
    Object.assign(process.env, { DATABASE_URL: url, SIGNET_DATA_DIR: dataDir, KUBECONFIG: kube.kubeconfigPath, SIGNET_KUBE_CONTEXTS: "admin", SIGNET_REGISTRY_INSECURE: h });
    resetEnvCache();
    db = createDb(url, 4);

    const pubA = await fs.readFile(ws.pub, "utf8");
    const pubB = await fs.readFile(keyB.replace(/cosign\.key$/, "cosign.pub"), "utf8");
    await createKeyAuthority(db, { name: "key-a", publicKeyPem: pubA, owner: "platform", source: "cosign.pub", rotateBy: new Date(Date.now() + 10 * 86_400_000) }, "test");
    await createKeyAuthority(db, { name: "key-b", publicKeyPem: pubB, owner: "platform", source: "file" }, "test");
    const [doc] = parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release }
spec:
  mode: enforce
  requireTlog: false
  scope: { images: ["${h}/apps/**"] }
  authorities: [ { name: a, key: { ref: key-a } }, { name: b, key: { ref: key-b } } ]`);
    await savePolicyDocument(db, doc!, { actor: "test" });
    const ctx: PipelineContext = { db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: (p) => checkImages(ctx, p) };
    const scanId = await createScan(db, { trigger: "test" });
    await startScan(ctx, scanId);
    const scan = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
    expect(scan.status).toBe("succeeded");

    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    watchPageErrors(page, errors);
    await fs.mkdir(ARTIFACTS, { recursive: true });
    await createFirstAdmin(page, await waitForSetupLink(() => app.output()), admin);
  }, 240_000);

  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await db?.$disconnect();
    if (app && app.proc.exitCode === null) {
      app.proc.kill("SIGTERM");
      await app.exited;
    }
    await Promise.all([kube?.stop(), registry?.stop(), ws?.cleanup()]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("lists every key with its status, owner, rotate-by date and live usage", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Keys" }).click();
    await page.waitForURL(`${base}/keys`);
    await page.getByTestId("keys-table").waitFor();
    const a = page.getByTestId("key-stored:key-a");
    expect(await a.textContent()).toContain("platform");
    expect(await a.textContent()).toContain("cosign.pub");
    expect(await a.textContent()).toContain("active");
    expect(await a.textContent()).toContain("release");
    expect((await a.getByTestId("usage").textContent())?.trim()).toBe("2 · 2 · 1");
    expect((await page.getByTestId("key-stored:key-b").getByTestId("usage").textContent())?.trim()).toBe("1 · 1 · 1");
    await page.screenshot({ path: path.join(ARTIFACTS, "trust-keys.png"), fullPage: true });
    // the figures open the containers they count, under the key's one name
    await a.getByTestId("usage-link").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("signer") === "stored:key-a");
    expect(await page.getByTestId("containers-total").textContent()).toBe("2");
    expect([await page.getByTestId("containers-signer-images").textContent(), await page.getByTestId("containers-signer-namespaces").textContent()]).toEqual(["2", "1"]);
    expect(await page.getByTestId("containers-table").locator("tbody tr").count()).toBe(2);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Containers");
    expect(await page.getByRole("navigation", { name: "Breadcrumb" }).textContent()).toContain("key-a");
    // the one filter bar: another authority, by its name
    await page.getByRole("search", { name: "Filter containers" }).locator('select[name="signer"]').selectOption({ label: "key-b" });
    await page.waitForURL((u) => u.searchParams.get("signer") === "stored:key-b");
    await waitFor(async () => ((await page.getByTestId("containers-total").textContent()) === "1" ? true : undefined), 15_000, "key-b's one container");
    expect(await page.getByTestId("containers-table").locator("tbody tr").count()).toBe(1);
  });

  it("shows the rotation reminder on the Reminders page and the overview", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reminders" }).click();
    await page.waitForURL(`${base}/reminders`);
    const row = page.getByTestId("reminder-rotate-by:stored:key-a");
    await row.waitFor();
    expect(await row.textContent()).toMatch(/due soon.*key-a is due for rotation in (9|10) days/);
    // another zone: same reminder, dates in that zone
    await page.locator('select[name="tz"]').selectOption("Asia/Tokyo");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/tz=Asia%2FTokyo/);
    await page.getByText("Due (Asia/Tokyo)").waitFor();
    expect(await page.getByTestId("reminder-rotate-by:stored:key-a").count()).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, "trust-reminders.png"), fullPage: true });
    // the reminder's key → its row on the Keys page → its audit events (added, and the policy trusting it)
    await page.getByTestId("reminder-rotate-by:stored:key-a").getByTestId("reminder-subject").click();
    await page.waitForURL((u) => u.pathname === "/keys" && u.hash === "#authority-key-a");
    expect(await page.getByTestId("key-stored:key-a").textContent()).toContain("platform");
    await page.getByTestId("key-stored:key-a").getByTestId("key-audit").click();
    await page.waitForURL((u) => u.pathname === "/audit" && u.searchParams.get("key") === "key-a");
    const summaries = page.getByTestId("event-summary");
    await waitFor(async () => ((await summaries.count()) === 2 ? true : undefined), 15_000, "key-a's two events");
    expect((await summaries.allTextContents()).sort()).toEqual([expect.stringMatching(/^added key key-a \(sha256:[0-9a-f]{64}, source cosign\.pub\)$/), "created policy release v1 (mode enforce, source signet)"]);
    await page.goto(`${base}/`);
    expect(await page.getByTestId("reminder-summary").textContent()).toContain("key-a is due for rotation");
  });

  it("previews the blast radius, refuses a wrong confirmation, then revokes and flags the workload", async () => {
    await page.goto(`${base}/keys`);
    await page.getByRole("link", { name: "Revoke key-a" }).click();
    await page.waitForURL(/\/keys\/revoke\?ref=stored%3Akey-a/);
    await page.getByTestId("blast-summary").waitFor();
    expect(await page.getByTestId("blast-containers").textContent()).toBe("1");
    expect(await page.getByTestId("blast-workloads").textContent()).toBe("1");
    const rows = page.getByTestId("blast-row");
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toMatch(/payments.*Pod\/solo.*release \(enforce\)failed/);
    expect(await page.getByTestId("blast-policies").textContent()).toContain("release (enforce): 1 container(s), 1 image(s)");
    await page.screenshot({ path: path.join(ARTIFACTS, "trust-revoke-preview.png"), fullPage: true });

    const form = page.locator('form[aria-label="Confirm revocation"]');
    await form.locator('input[name="reason"]').fill("private key leaked");
    await form.locator('input[name="confirm"]').fill("key-b");
    await form.getByRole("button", { name: "Revoke now" }).click();
    expect(await form.getByRole("alert").textContent()).toContain("Type key-a to confirm");
    expect((await db.authority.findUniqueOrThrow({ where: { name: "key-a" } })).status).toBe("active");

    await form.locator('input[name="reason"]').fill("private key leaked");
    await form.locator('input[name="confirm"]').fill("key-a");
    await form.getByRole("button", { name: "Revoke now" }).click();
    const result = page.getByTestId("revoke-result");
    await result.waitFor({ timeout: 60_000 });
    expect(await result.textContent()).toContain("Revoked key-a. Re-evaluated 1 image(s): 1 container(s) in 1 workload(s) now fail.");

    const verdict = async (pod: string) => (await db.verdict.findFirstOrThrow({ where: { container: { pod: { name: pod } } } }));
    const solo = await verdict("solo");
    expect(solo.value).toBe("failed");
    expect((solo.reasons as { code: string }[]).map((r) => r.code)).toContain("revoked");
    expect((await verdict("dual")).value).toBe("verified");

    await page.goto(`${base}/`);
    const flagged = page.getByTestId("revoked-workloads");
    await flagged.waitFor();
    expect(await flagged.textContent()).toMatch(/1 workload fails because a signing key was revoked.*payments Pod\/solo.*release/);
    // the flagged workload links to its page
    expect(await flagged.getByTestId("revoked-workload-link").getAttribute("href")).toMatch(/^\/clusters\/[^/]+\/payments\/Pod\/solo$/);
    await page.screenshot({ path: path.join(ARTIFACTS, "trust-overview-revoked.png"), fullPage: true });
    await page.goto(`${base}/keys`);
    expect(await page.getByTestId("key-stored:key-a").textContent()).toContain("revoked");
    expect(await page.getByTestId("key-stored:key-a").textContent()).toContain("private key leaked");
    // the refused confirmation (400) is an expected console error of fetch; nothing else may fail
    expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    expect(errors.length).toBeLessThanOrEqual(1);
  });

  it("adds a custom trusted root on the Trusted roots page, shows a bad one's reason, removes it", async () => {
    const before = errors.length;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trusted roots" }).click();
    await page.waitForURL(`${base}/trust-roots`);
    expect(await page.getByTestId("trust-root-public-good").textContent()).toContain("bundled with Signet");
    const form = page.locator('form[aria-label="Add a trusted root"]');
    await form.locator('input[name="name"]').fill("acme");
    await form.locator('textarea[name="document"]').fill(JSON.stringify({ mediaType: "application/json" }));
    await form.getByRole("button", { name: "Add trusted root" }).click();
    expect(await form.getByRole("alert").textContent()).toMatch(/invalid trusted root: trustedRoot\.mediaType/);

    await form.locator('input[name="name"]').fill("acme");
    await form.locator('textarea[name="document"]').fill(makePrivateSigstore().trustedRootJson);
    await form.getByRole("button", { name: "Add trusted root" }).click();
    const row = page.getByTestId("trust-root-acme");
    await row.waitFor();
    expect(await row.textContent()).toMatch(/added by an administrator.*1 CA · 1 Rekor · 1 CT · 0 TSA/);
    await page.screenshot({ path: path.join(ARTIFACTS, "trust-roots.png"), fullPage: true });
    await row.getByRole("button", { name: "Remove trusted root acme" }).click();
    await row.waitFor({ state: "detached" });
    expect(await db.trustedRoot.count()).toBe(0);
    // the refused root (400) is the one expected console error
    expect(errors.slice(before).filter((e) => !/status of 400/.test(e))).toEqual([]);
  });
});
