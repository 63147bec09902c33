import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import type { Browser, BrowserContext, Download, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFirstAdmin, signInInBrowser, waitForSetupLink } from "@/tests/support/auth-browser";
import { ARTIFACTS, launchChromium, watchPageErrors } from "@/tests/support/browser";
import { mapLimit } from "@/lib/concurrency";
import { locateDatabaseUrl } from "@/lib/db/locate";
import type { Env } from "@/lib/env";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { shortFingerprint } from "@/lib/ui/format";
import { EXPECTED, startDashboardScenario, type DashboardScenario } from "@/tests/support/dashboard-scenario";
import { pdfText } from "@/tests/support/pdf";
import { waitFor } from "@/tests/support/process";
import { registryTools } from "@/tests/support/registry";

const execFileP = promisify(execFile);

const require = createRequire(import.meta.url);

/**
 * The dashboard in Chromium against the production build, on data a real scan produced: an admin
 * saves the policies through the editor, starts a scan with "Scan now" and watches its progress; then
 * every page shows the scenario's figures, filters change the tables, and exports match the scenario.
 */
describe("dashboard pages on a real scan", () => {
  let s: DashboardScenario;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const admin = { name: "Dana Dashboard", email: "dana@example.test", password: "dana's dashboard password" };

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
  const text = async (testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? "").trim();
  /** Nothing overflows horizontally at the current viewport (1280 px wide). */
  const noHorizontalOverflow = async () => expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  /** Opens a page and waits until its interactive part is hydrated (handlers attached). */
  const open = async (pathname: string) => {
    await page.goto(`${s.base}${pathname}`);
    await page.locator('main [data-hydrated="true"]').first().waitFor();
  };
  const csvRows = async (p: string) => (await fs.readFile(p, "utf8")).trim().split(/\r?\n/);

  beforeAll(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    [s, browser] = await Promise.all([startDashboardScenario(), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, colorScheme: "light" });
    page = await context.newPage();
    watchPageErrors(page, errors);
    await createFirstAdmin(page, await waitForSetupLink(() => s.app.output()), admin);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it("saves the policies through the editor, then a scan started with Scan now shows live progress", async () => {
    await open("/policies");
    // an invalid document is refused with the validator's reasons
    const editor = page.locator('form[aria-label="New policy"] textarea');
    await editor.fill("apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: broken }\nspec: { mode: sometimes }\n");
    await page.getByRole("button", { name: "Create policy" }).click();
    await page.getByTestId("policy-error").waitFor();
    expect(await text("policy-error")).toContain("spec.mode");
    // the browser logs the refused request (422) as a console error: expected here, and only here
    await waitFor(async () => (errors.length > 0 ? true : undefined), 5_000, "the 422 in the console");
    expect(errors).toEqual([expect.stringContaining("422")]);
    errors.length = 0;

    await editor.fill(s.policyYaml);
    await page.getByRole("button", { name: "Create policy" }).click();
    await page.getByTestId("policy-saved").waitFor();
    expect(await text("policy-saved")).toContain("Saved release as version 1");
    await page.getByTestId("policy-row-release").waitFor();
    expect(await page.getByTestId("policy-row-tools-audit").textContent()).toContain("audit");

    await open("/scans");
    await page.getByRole("button", { name: "Scan now" }).waitFor();
    // record every state the progress bar shows (a MutationObserver, no sleeping)
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __progress: string[] }).__progress = seen;
      const record = () => {
        const bar = document.querySelector('[role="progressbar"]');
        const v = bar?.getAttribute("aria-valuetext");
        if (v && seen[seen.length - 1] !== v) seen.push(v);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuetext"] });
    });
    await page.waitForFunction(() => !document.querySelector("button[disabled]")?.textContent?.includes("Scan now"));
    await page.getByRole("button", { name: "Scan now" }).click();
    await page.getByTestId("scan-progress").waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="scan-stage"]')?.textContent === "done", undefined, { timeout: 90_000 });
    const progress = await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toBe(`done: ${EXPECTED.images} of ${EXPECTED.images} images`);
    await page.waitForFunction(() => document.querySelector('[data-testid="scans-table"] [data-testid="scan-status"]')?.textContent === "succeeded", undefined, { timeout: 30_000 });
    await shot("scans");
    // "done / total images" open the scan's items: done = the settled rows, total = every row
    const doneLink = page.getByTestId("scan-counts").getByTestId("scan-done-link");
    const done = Number(await doneLink.textContent());
    expect(done).toBe(EXPECTED.images);
    await doneLink.click();
    await page.waitForURL((u) => /^\/scans\/[0-9a-f-]{36}$/.test(u.pathname) && u.searchParams.get("status") === "done,error");
    await page.getByTestId("scan-items-table").waitFor();
    expect([Number(await text("scan-items-total")), await page.getByTestId("scan-item").count()]).toEqual([done, done]);
    expect(await page.getByTestId("scan-detail-counts").getByTestId("scan-done-link").textContent()).toBe(String(done));
    // the one filter bar: one status, then every item (the total)
    const status = page.getByRole("search", { name: "Filter scan items" }).locator('select[name="status"]');
    await status.selectOption("pending");
    await page.waitForURL((u) => u.searchParams.get("status") === "pending");
    await page.getByTestId("empty-state").waitFor();
    expect(await text("scan-items-total")).toBe("0");
    await status.selectOption("pending,done,error");
    await page.waitForURL((u) => u.searchParams.get("status") === "pending,done,error");
    await page.getByTestId("scan-items-table").waitFor();
    const total = Number(await page.getByTestId("scan-detail-counts").getByTestId("scan-total-link").textContent());
    expect([Number(await text("scan-items-total")), await page.getByTestId("scan-item").count()]).toEqual([total, total]);
  });

  it("overview: coverage, verdict mix, trend, worst namespaces and newest failures of the scenario", async () => {
    await page.goto(`${s.base}/`);
    await page.getByTestId("stat-coverage-containers").waitFor();
    expect(await text("stat-coverage-containers")).toBe("66.6%"); // 4 of 6
    expect(await text("stat-coverage-images")).toBe("60.0%"); // 3 of 5
    expect(await text("stat-failing")).toBe(String(EXPECTED.failed + EXPECTED.unsigned));
    expect(await text("mix-verified")).toBe(`verified${EXPECTED.verified}`);
    expect(await text("mix-failed")).toBe(`failed${EXPECTED.failed}`);
    expect(await text("mix-unsigned")).toBe(`unsigned${EXPECTED.unsigned}`);
    expect(await text("stat-containers")).toBe(String(EXPECTED.containers));
    // tools (1 of 2 verified) is worse than payments (3 of 4)
    const worst = page.getByTestId("worst-namespaces").locator("tbody tr");
    expect(await worst.first().textContent()).toContain("admin/tools");
    expect(await page.getByTestId("worst-tools").textContent()).toContain("50.0%");
    expect(await page.getByTestId("worst-payments").textContent()).toContain("75.0%");
    const failures = (await page.getByTestId("newest-failures").textContent()) ?? "";
    expect(failures).toContain("apps/foreign");
    expect(failures).toContain("apps/unsigned");
    // the trend chart draws its target line (SIGNET_COVERAGE_TARGET=90)
    await page.getByTestId("coverage-trend").locator("svg").first().waitFor();
    expect(await page.getByTestId("coverage-trend").textContent()).toContain("target 90%");
    await noHorizontalOverflow();
    await shot("overview");

    // the theme toggle switches to dark, and the choice survives a reload
    const html = page.locator("html");
    await page.locator('[data-testid="theme-toggle"][data-hydrated="true"]').waitFor();
    expect(await html.getAttribute("class")).not.toContain("dark");
    await page.getByTestId("theme-toggle").click(); // system → light
    await page.getByTestId("theme-toggle").click(); // light → dark
    expect(await html.getAttribute("class")).toContain("dark");
    await page.reload();
    await page.locator('[data-testid="theme-toggle"][data-hydrated="true"]').waitFor();
    expect(await html.getAttribute("class")).toContain("dark");
    await shot("overview-dark");
    await page.getByTestId("theme-toggle").click(); // dark → system (light here)
    expect(await html.getAttribute("class")).not.toContain("dark");

    // keyboard: the first Tab reaches the skip link
    await page.reload();
    await page.getByTestId("stat-coverage-containers").waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");

    // the cluster's own target (SIGNET_CLUSTER_COVERAGE_TARGETS admin=80): 4 of 6, one more to verify
    expect(await page.getByTestId("cluster-admin").locator("td").nth(6).textContent()).toBe("80% (−1)");
    // every count links to the list behind it: "Failed · unsigned · error" opens the containers it counts
    await page.getByTestId("stat-failing-link").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("bucket") === "failed,unsigned,error");
    await page.getByTestId("containers-table").waitFor();
    const counted = page.getByTestId("containers-table").locator("tbody tr");
    expect(await counted.count()).toBe(EXPECTED.failed + EXPECTED.unsigned);
    expect((await counted.allTextContents()).map((t) => /apps\/(foreign|unsigned)/.exec(t)?.[1]).sort()).toEqual(["foreign", "unsigned"]);
    // "Running containers" and the verified count open the containers they count (every bucket; verified)
    await page.goto(`${s.base}/`);
    await page.getByTestId("stat-containers-link").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("bucket")?.split(",").length === 6);
    await page.getByTestId("containers-table").waitFor();
    expect([await text("containers-total"), await counted.count()]).toEqual([String(EXPECTED.containers), EXPECTED.containers]);
    await page.goto(`${s.base}/`);
    await page.getByTestId("mix-verified").getByRole("link").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("bucket") === "verified");
    await page.getByTestId("containers-table").waitFor();
    expect([await text("containers-total"), await counted.count()]).toEqual([String(EXPECTED.verified), EXPECTED.verified]);
    const failing = page.getByTestId("images-table").locator("tbody tr");
    // a newest failure's policy opens the images that policy does not verify
    await page.goto(`${s.base}/`);
    await page.getByTestId("newest-failures").getByRole("link", { name: "tools-audit", exact: true }).click();
    await page.waitForURL((u) => u.pathname === "/images" && u.searchParams.get("policy") === "tools-audit" && u.searchParams.get("verdict") === "failing");
    await waitFor(async () => ((await failing.count()) === 1 ? true : undefined), 10_000, "the image tools-audit does not verify");
    expect(await failing.first().locator("td:first-child a").textContent()).toContain("apps/unsigned");
  });

  it("images: every running image; filters change the table; the CSV export follows the filter", async () => {
    await open("/images");
    await page.getByTestId("images-table").waitFor();
    const rows = page.getByTestId("images-table").locator("tbody tr");
    expect(await rows.count()).toBe(EXPECTED.images);
    expect(await text("pager-summary")).toBe(`1–${EXPECTED.images} of ${EXPECTED.images}`);
    await noHorizontalOverflow();
    await shot("images");

    await page.locator('select[name="verdict"]').selectOption("verified");
    await waitFor(async () => ((await rows.count()) === EXPECTED.imagesVerified ? true : undefined), 10_000, "verified images only");
    // the filter is in the address, so the view can be shared and reloaded
    await waitFor(async () => (new URL(page.url()).searchParams.get("verdict") === "verified" ? true : undefined), 10_000, "verdict in the URL");
    const names = await rows.locator("td:first-child a").allTextContents();
    expect(names.map((n) => n.split("/").pop()).sort()).toEqual(["attested", "bundle", "classic"]);

    await page.locator('select[name="verdict"]').selectOption("");
    await page.locator('select[name="namespace"]').selectOption("tools");
    await waitFor(async () => ((await rows.count()) === 2 ? true : undefined), 10_000, "images of namespace tools");
    expect((await rows.locator("td:first-child a").allTextContents()).map((n) => n.split("/").pop()).sort()).toEqual(["classic", "unsigned"]);

    await page.locator('select[name="namespace"]').selectOption("");
    await page.locator('select[name="verdict"]').selectOption("failed");
    await waitFor(async () => ((await rows.count()) === 1 ? true : undefined), 10_000, "failed images");
    // the image list is saved with its signature next to it, and real cosign verifies the pair
    const imageDownloads: Download[] = [];
    const collectImages = (d: Download) => imageDownloads.push(d);
    page.on("download", collectImages);
    await page.getByTestId("export-csv").click();
    await waitFor(async () => (imageDownloads.length >= 2 ? true : undefined), 30_000, "the image CSV and its .sig");
    page.off("download", collectImages);
    const download = imageDownloads.find((d) => d.suggestedFilename().endsWith(".csv"))!;
    const imageSig = imageDownloads.find((d) => d.suggestedFilename().endsWith(".csv.sig"))!;
    expect(download.suggestedFilename()).toMatch(/^signet-images-.*\.csv$/);
    expect(imageSig.suggestedFilename()).toBe(`${download.suggestedFilename()}.sig`);
    const lines = await csvRows((await download.path())!);
    expect(lines[0]).toBe("registry,repository,digest,verdict,discovery,running_containers,signers,last_seen");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`apps/foreign,${s.digests.foreign},failed`);
    const imagesDir = await fs.mkdtemp(path.join(ARTIFACTS, "signed-images-"));
    await download.saveAs(path.join(imagesDir, "images.csv"));
    await imageSig.saveAs(path.join(imagesDir, "images.csv.sig"));
    await fs.writeFile(path.join(imagesDir, "signet-export.pub"), await (await page.request.get(`${s.base}/api/exports/public-key`)).text());
    const imagesVerified = await execFileP(registryTools().cosign, ["verify-blob", "--key", "signet-export.pub", "--signature", "images.csv.sig", "--insecure-ignore-tlog=true", "images.csv"], {
      cwd: imagesDir,
      env: { ...process.env, HOME: imagesDir },
    });
    expect(imagesVerified.stdout + imagesVerified.stderr).toContain("Verified OK");

    // keyboard: sorting by a header button reorders on the server
    await page.locator('select[name="verdict"]').selectOption("");
    await waitFor(async () => ((await rows.count()) === EXPECTED.images ? true : undefined), 10_000, "all images again");
    await page.getByRole("button", { name: /Containers/ }).focus();
    await page.keyboard.press("Enter");
    await waitFor(async () => (new URL(page.url()).searchParams.get("sort") === "containers" ? true : undefined), 10_000, "sorted by containers");
    await page.getByRole("button", { name: /Containers/ }).press("Enter");
    await waitFor(async () => ((await rows.first().textContent())?.includes("apps/classic") ? true : undefined), 10_000, "classic (2 containers) first when descending");
    // a row's container count opens where the image runs, on its page: as many containers
    await rows.first().getByTestId("image-containers").click();
    await page.waitForURL((u) => u.pathname.startsWith("/images/") && u.hash === "#placements");
    expect(await text("running-count")).toBe("2");
  });

  it("image detail: trust chain, each signature and attestation, verdicts per policy and history", async () => {
    await open("/images?q=attested");
    await page.getByTestId("images-table").locator("tbody tr").first().locator("td:first-child a").click();
    await page.getByTestId("trust-chain").waitFor();
    expect(await text("image-digest")).toBe(s.digests.attested);
    expect(await page.getByTestId("evidence-signature").textContent()).toContain("valid");
    expect(await page.getByTestId("evidence-attestation").textContent()).toContain("https://slsa.dev/provenance/v0.2");
    // the key is named as the Keys page names it: a key written inline has no name, so its short fingerprint
    const fp = publicKeyFingerprint(await fs.readFile(s.ws.pub, "utf8"));
    expect(await text("image-signers")).toBe(shortFingerprint(fp));
    const placement = (await page.getByTestId("placement-attested").textContent()) ?? "";
    expect(placement).toContain("admin/payments/Pod/attested");
    expect(placement).toContain("release");
    expect(placement).toContain("verified");
    expect(await page.getByTestId("history").textContent()).toContain("release");
    await noHorizontalOverflow();
    await shot("image-detail");
    // the signer links to its one Keys row: the key both policies write inline, listed once with both
    await page.getByTestId("image-signers").getByRole("link", { name: shortFingerprint(fp) }).click();
    await page.waitForURL((u) => u.pathname === "/keys");
    const row = page.getByTestId(`key-${fp}`);
    await row.waitFor();
    expect(await page.getByTestId("keys-table").locator("tbody tr", { hasText: shortFingerprint(fp) }).count()).toBe(1);
    expect(await row.textContent()).toMatch(/release \(enforce, as ci\).*tools-audit \(audit, as ci\)/);
    // key → the policies that trust it
    await row.getByRole("link", { name: "tools-audit", exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/policies/"));
    await page.getByTestId("policy-versions").waitFor();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("tools-audit");
  });

  it("clusters and namespaces: coverage per namespace, applicable policies and what enforcing would break", async () => {
    await page.goto(`${s.base}/clusters`);
    await page.getByTestId("namespaces-table").waitFor();
    expect(await text("ns-coverage-tools")).toBe("50.0%");
    expect(await text("ns-coverage-payments")).toBe("75.0%");
    expect(await page.getByTestId("cluster-row-admin").textContent()).toContain("66.6%");
    await shot("clusters");
    await page.getByRole("link", { name: "admin/tools" }).click();
    await page.getByTestId("ns-policies").waitFor();
    expect(await text("ns-coverage")).toBe("50.0%");
    const wouldBreak = (await page.getByTestId("would-break-tools-audit").textContent()) ?? "";
    expect(wouldBreak).toContain("1 container(s) would be rejected");
    expect(wouldBreak).toContain("apps/unsigned");
    expect(wouldBreak).not.toContain("apps/classic");
    expect(await page.getByTestId("ns-policy-release").count()).toBe(0);
    await shot("namespace");
    // a policy's counts on the namespace page open the containers behind them: as many rows as the figure
    // (the containers it applies to, those awaiting a verdict under it included, and those it does not verify)
    const table = page.getByTestId("containers-table").locator("tbody tr");
    const inScope = Number(await text("ns-policy-containers-tools-audit"));
    expect(inScope).toBe(2);
    await page.getByTestId("ns-policy-containers-tools-audit").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("verdict") === "verified,failed,unsigned,error,pending" && u.searchParams.get("namespace") === "tools");
    await page.getByTestId("containers-table").waitFor();
    expect([Number(await text("containers-total")), await table.count()]).toEqual([inScope, inScope]);
    await page.goBack();
    expect(await text("ns-policy-failing-tools-audit")).toBe("1 not verified");
    await page.getByTestId("ns-policy-failing-tools-audit").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("verdict") === "failed,unsigned,error,pending" && u.searchParams.get("namespace") === "tools");
    await page.getByTestId("containers-table").waitFor();
    expect([await text("containers-total"), await table.count()]).toEqual(["1", 1]);
    expect(await page.getByTestId("containers-table").textContent()).toContain("apps/unsigned");
    // the Workloads card's count of running containers opens all of them
    await page.goto(`${s.base}/clusters/admin/tools`);
    const running = Number(((await text("ns-workloads-containers")) ?? "").split(" ")[0]);
    expect(running).toBeGreaterThan(0);
    await page.getByTestId("ns-workloads-containers").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("namespace") === "tools" && u.searchParams.get("bucket")?.split(",").length === 6);
    await page.getByTestId("containers-table").waitFor();
    expect([Number(await text("containers-total")), await table.count()]).toEqual([running, running]);
    // a container enforcing would reject → its page
    await page.goto(`${s.base}/clusters/admin/tools`);
    await page.getByTestId("would-break-tools-audit").getByRole("link", { name: "app", exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/containers/"));
    expect(await page.getByRole("navigation", { name: "Breadcrumb" }).textContent()).toContain("Pod/unsigned");
  });

  it("policies: verdicts per policy, versions and their effect", async () => {
    await open("/policies");
    await page.getByTestId("policies-table").waitFor();
    expect(await text("policy-verified-release")).toBe("3 (75.0%)");
    expect(await text("policy-verified-tools-audit")).toBe("1 (50.0%)");
    await shot("policies");
    // the "Verified" count opens the containers behind it: those the policy verifies (its verdict, not the image's overall one)
    await page.getByTestId("policy-verified-link-release").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.has("policy") && u.searchParams.get("verdict") === "verified");
    await page.getByTestId("containers-table").waitFor();
    const containers = page.getByTestId("containers-table").locator("tbody tr");
    expect([await text("containers-total"), await containers.count()]).toEqual(["3", 3]);
    // the images the policy verifies, in the image list
    await open("/images?policy=release&verdict=verified");
    const images = page.getByTestId("images-table").locator("tbody tr");
    const imageNames = async () => (await images.locator("td:first-child a").allTextContents()).map((n) => n.split("/").pop()).sort();
    await waitFor(async () => ((await images.count()) === 3 ? true : undefined), 10_000, "the images release verifies");
    expect(await imageNames()).toEqual(["attested", "bundle", "classic"]);
    // the filter bar shows the policy, and choosing another one changes the list on the server
    await page.locator("main [data-hydrated=\"true\"]").first().waitFor();
    await page.locator('select[name="policy"]').selectOption("tools-audit");
    await waitFor(async () => ((await images.count()) === 1 ? true : undefined), 10_000, "the image tools-audit verifies");
    expect(await imageNames()).toEqual(["classic"]);
    await open("/policies");
    // the "Not verified" count opens the containers behind it; the breadcrumb, the policy's page
    expect(await text("policy-not-verified-release")).toBe("1");
    await page.getByTestId("policy-not-verified-release").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("verdict") === "failed,unsigned,error");
    await page.getByTestId("containers-table").waitFor();
    expect(await containers.count()).toBe(1);
    expect(await page.getByTestId("containers-table").textContent()).toContain("apps/foreign");
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "policy release" }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/policies/"));
    await page.getByTestId("policy-versions").waitFor();
    // version 1 recorded 3 verified and 1 failed verdict events
    const v1 = (await page.getByTestId("version-1").locator("td").allTextContents()).slice(3);
    expect(v1).toEqual(["3", "1", "0", "0"]);
    const notVerified = (await page.getByTestId("policy-would-break").textContent()) ?? "";
    expect(notVerified).toContain("enforced");
    expect(notVerified).toContain("apps/foreign");
    expect(notVerified).not.toContain("apps/classic");
    // and the containers the policy does not verify, counted, in the containers list
    expect(await text("policy-now-failing")).toBe("1 not verified");
    expect(await text("policy-not-verified-count")).toBe("1 running container not verified");
    await page.getByTestId("policy-now-failing").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("verdict") === "failed,unsigned,error" && u.searchParams.has("policy"));
    await page.getByTestId("containers-table").waitFor();
    expect([await text("containers-total"), await containers.count()]).toEqual(["1", 1]);
    expect(await page.getByTestId("containers-table").textContent()).toContain("apps/foreign");

    // a policy's version on the Policies page opens that version's rows in the audit log: its verdict
    // events (as many as the policy page counts under it) and its change
    await open("/policies");
    expect(await text("policy-version-release")).toBe("v1");
    await page.getByTestId("policy-version-release").click();
    await page.waitForURL((u) => u.pathname === "/audit" && u.searchParams.get("policy") === "release" && u.searchParams.get("policyVersion") === "1");
    const versionRows = page.getByTestId("audit-table").locator("tbody tr");
    // release v1 recorded 3 verified and 1 failed verdict events, and its creation
    await waitFor(async () => ((await versionRows.count()) >= 5 ? true : undefined), 10_000, "release v1's audit rows");
    expect(await versionRows.filter({ hasText: /created policy release v1/ }).count()).toBe(1);
    expect(await page.locator('select[name="policyVersion"]').inputValue()).toBe("1");

    // a version's count opens its verdict events in the audit log: as many rows as the count says
    await open("/policies");
    await page.getByTestId("policy-row-release").getByRole("link", { name: "release" }).click();
    await page.getByTestId("version-1-verified").waitFor();
    // a container the policy does not verify → its image's page
    await page.getByTestId("would-break-image").first().click();
    await page.waitForURL((u) => u.pathname.startsWith("/images/"));
    expect(await page.locator("main h1").textContent()).toContain("apps/foreign");
    await page.goBack();
    await page.getByTestId("version-1-verified").waitFor();
    const counted = Number(await text("version-1-verified"));
    expect(counted).toBeGreaterThan(0);
    await page.getByTestId("version-1-verified").click();
    await page.waitForURL((u) => u.pathname === "/audit" && u.searchParams.get("policy") === "release" && u.searchParams.get("policyVersion") === "1" && u.searchParams.get("verdict") === "verified");
    const events = page.getByTestId("audit-table").locator("tbody tr");
    await waitFor(async () => ((await events.count()) === counted ? true : undefined), 10_000, "release v1's verified events");
    expect(await page.locator('select[name="policy"]').inputValue()).toBe("release");
    // a verdict row → the key that signed the evidence it rests on, its row on the Keys page
    await events.first().getByTestId("event-links").getByRole("link", { name: /^key / }).click();
    await page.waitForURL((u) => u.pathname === "/keys" && u.hash.startsWith("#authority-"));
    // the page streams its table: the key's row, once there, carries the anchor
    const keyRow = page.locator(`[id="${new URL(page.url()).hash.slice(1)}"]`);
    await keyRow.waitFor();
    expect(await keyRow.getAttribute("data-testid")).toMatch(/^key-/);
  });

  it("rejections: the admission rejection with counts; a filter empties the list", async () => {
    await open("/rejections");
    await page.getByTestId("rejections-table").waitFor();
    expect(await text("rejections-total")).toBe("1");
    expect(await text("rejections-attempts")).toBe("3");
    expect(await page.getByTestId("rejections-table").textContent()).toContain("policy_controller");
    await shot("rejections");
    // a bar of the per-day chart opens that day's rejections: their attempts are the bar's figure
    const bar = page.getByTestId("daily-links").getByRole("link").first();
    const [barDay, barCount] = ((await bar.textContent()) ?? "").split(": ");
    await bar.click();
    await page.waitForURL((u) => u.pathname === "/rejections" && u.searchParams.get("day") === barDay);
    await waitFor(async () => ((await text("rejections-attempts")) === barCount ? true : undefined), 10_000, "that day's attempts");
    expect(await page.getByTestId("rejections-table").locator("tbody tr").count()).toBe(Number(await text("rejections-total")));
    expect(await page.locator('input[name="day"]').inputValue()).toBe(barDay);
    await open(`/rejections?day=${barDay}`);
    expect(await text("rejections-attempts")).toBe(barCount);
    await open("/rejections");
    await page.getByTestId("rejections-table").waitFor();
    await page.locator('select[name="controller"]').selectOption("kyverno");
    await page.getByTestId("empty-state").waitFor();
    expect(await page.getByTestId("rejections-table").count()).toBe(0);
    // Signet's own webhook's denials (ADR 0018): one from an unauthenticated caller, marked as such, one
    // from the authenticated API server, not marked (rows as lib/admission/record.ts writes them)
    const pgc = new pg.Client({ connectionString: await locateDatabaseUrl({ SIGNET_DATA_DIR: s.dataDir } as Env) });
    await pgc.connect();
    try {
      const at = new Date(Date.now() - 60_000);
      for (const [name, authenticated] of [["forged", false], ["genuine", true]] as const) {
        await pgc.query(
          `INSERT INTO "AdmissionRejection" (id, "clusterId", namespace, "workloadKind", "workloadName", image, controller, webhook, "policyName", decision, "callerAuthenticated", message, "eventUid", "firstSeen", "lastSeen", count)
           SELECT gen_random_uuid(), id, 'payments', 'Pod', $1, $2, 'signet', 'validate.signet.dev', 'release', 'denied', $3, $4, $5, $6, $6, 1 FROM "Cluster" WHERE name = 'admin'`,
          // the genuine denial names a reference that runs (apps/classic:v1): its row links to those images
          [name, `${s.registry.host}/apps/${authenticated ? "classic" : name}:v1`, authenticated, `denied by signet: ${name}`, `signet:e2e-${name}`, at],
        );
      }
      await open("/rejections?controller=signet");
      const rows = page.getByTestId("rejections-table").locator("tbody tr");
      await waitFor(async () => ((await rows.count()) === 2 ? true : undefined), 15_000, "Signet's two rejections");
      const row = (name: string) => rows.filter({ hasText: `Pod/${name}` });
      expect(await row("forged").getByTestId("unauthenticated-caller").textContent()).toBe("unauthenticated caller");
      expect(await row("genuine").count()).toBe(1);
      expect(await row("genuine").getByTestId("unauthenticated-caller").count()).toBe(0);
      expect(await page.getByTestId("unauthenticated-caller").count()).toBe(1);
      // rejection → the running images of its reference
      await row("genuine").getByTestId("rejection-running").click();
      await page.waitForURL((u) => u.pathname === "/images" && u.searchParams.get("q") === `${s.registry.host}/apps/classic:v1`);
      const running = page.getByTestId("images-table").locator("tbody tr");
      await waitFor(async () => ((await running.count()) === 1 ? true : undefined), 10_000, "the classic image");
      expect(await running.first().locator("td:first-child a").textContent()).toContain("apps/classic");
      // a key → the rejections under the policies trusting it: Signet's two denials under release, not the
      // policy-controller's (no policy imported from it)
      await open("/keys");
      await page.getByTestId("key-rejections").first().click();
      await page.waitForURL((u) => u.pathname === "/rejections" && !!u.searchParams.get("key"));
      const byKey = page.getByTestId("rejections-table").locator("tbody tr");
      await waitFor(async () => ((await byKey.count()) === 2 ? true : undefined), 15_000, "the key's two rejections");
      expect(await byKey.filter({ hasText: "Pod/forged" }).count()).toBe(1);
      expect(await byKey.filter({ hasText: "Pod/genuine" }).count()).toBe(1);
      expect(await page.getByTestId("rejections-table").textContent()).not.toContain("policy_controller");
      expect(await page.locator('select[name="key"]').inputValue()).toBe(new URL(page.url()).searchParams.get("key"));
      // a rejection → the policy it was recorded under
      await open("/rejections?controller=signet");
      await waitFor(async () => ((await rows.count()) === 2 ? true : undefined), 15_000, "Signet's two rejections");
      await row("genuine").getByTestId("rejection-policy").click();
      await page.waitForURL((u) => u.pathname.startsWith("/policies/"));
      expect(await page.locator("main h1").textContent()).toBe("release");
      // a policy → the rejections under it
      await open("/policies");
      await page.getByTestId("policy-row-release").getByRole("link", { name: "release" }).click();
      await page.getByTestId("policy-rejections").click();
      await page.waitForURL((u) => u.pathname === "/rejections" && u.searchParams.get("policy") === "release");
      await waitFor(async () => ((await byKey.count()) === 2 ? true : undefined), 15_000, "the two rejections under release");
      expect((await page.getByTestId("rejections-table").textContent()) ?? "").toContain("Pod/genuine");
      expect(await page.locator('select[name="policy"]').inputValue()).toBe("release");
      // a rejected workload that runs → its page (Pod/genuine never ran: no link)
      await pgc.query(
        `INSERT INTO "AdmissionRejection" (id, "clusterId", namespace, "workloadKind", "workloadName", image, controller, webhook, "policyName", decision, "callerAuthenticated", message, "eventUid", "firstSeen", "lastSeen", count)
         SELECT gen_random_uuid(), id, 'payments', 'Pod', 'classic', $1, 'signet', 'validate.signet.dev', 'release', 'warned', true, 'warned by signet', 'signet:e2e-running', now(), now(), 1 FROM "Cluster" WHERE name = 'admin'`,
        [`${s.registry.host}/apps/classic:v1`],
      );
      await open("/rejections?controller=signet");
      await waitFor(async () => ((await rows.count()) === 3 ? true : undefined), 15_000, "Signet's three rejections");
      expect(await row("genuine").getByTestId("rejection-workload").count()).toBe(0);
      await row("classic").getByTestId("rejection-workload").click();
      await page.waitForURL((u) => u.pathname === "/clusters/admin/payments/Pod/classic");
      expect(await page.locator("main h1").textContent()).toBe("Pod/classic");
      // its count of rejections opens the rejections list filtered to it: as many rows
      const count = page.getByRole("link", { name: /admission rejection\(s\) in 30 days/ });
      const figure = Number(((await count.textContent()) ?? "").split(" ")[0]);
      expect(figure).toBe(1);
      await count.click();
      await page.waitForURL((u) => u.pathname === "/rejections" && u.searchParams.get("workload") === "classic");
      await waitFor(async () => ((await rows.count()) === figure ? true : undefined), 15_000, "the workload's rejections");
      expect(await text("rejections-total")).toBe(String(figure));
    } finally {
      await pgc.query(`DELETE FROM "AdmissionRejection" WHERE "eventUid" LIKE 'signet:e2e-%'`);
      await pgc.end();
    }
  });

  it("audit log: intact chain, filters, and exports that match the events", async () => {
    await open("/audit");
    await page.getByTestId("audit-table").waitFor();
    await page.getByText(/Chain intact/).waitFor();
    expect(await text("chain-status")).toMatch(/Chain intact: \d+ events verified/);
    await shot("audit");
    await page.locator('select[name="kind"]').selectOption("admin");
    const rows = page.getByTestId("audit-table").locator("tbody tr");
    await waitFor(async () => ((await page.getByTestId("event-verdict").count()) === 0 && (await rows.count()) > 0 ? true : undefined), 10_000, "admin events only");
    const [csv] = await Promise.all([page.waitForEvent("download"), page.getByTestId("audit-export-csv").click()]);
    const lines = await csvRows((await csv.path())!);
    expect(lines[0]!.startsWith("seq,occurred_at,kind")).toBe(true);
    expect(lines.slice(1).every((l) => l.split(",")[2] === "admin")).toBe(true);
    expect(lines.slice(1).some((l) => l.includes("tools-audit"))).toBe(true);
    expect(lines.length - 1).toBe(await rows.count());

    // rows say what changed; the actor filter and the text search find the admin's policy changes
    await page.locator('select[name="actor"]').selectOption(admin.email);
    await page.locator('input[name="q"]').fill("tools-audit");
    await page.locator('input[name="q"]').press("Enter");
    await waitFor(async () => {
      const summaries = await page.getByTestId("event-summary").allTextContents();
      return summaries.length > 0 && summaries.every((t) => t.includes("tools-audit")) ? summaries : undefined;
    }, 10_000, "the admin's tools-audit events");
    expect((await page.getByTestId("event-summary").allTextContents()).some((t) => /^created policy tools-audit v1 \(mode audit/.test(t))).toBe(true);
    await page.locator('select[name="actor"]').selectOption("");
    await page.locator('input[name="q"]').fill("");
    await page.locator('input[name="q"]').press("Enter");

    // a key → its audit events: the policies trusting it (the key is written inline in both) were created with it
    await open("/keys");
    await page.getByTestId("key-audit").first().click();
    await page.waitForURL((u) => u.pathname === "/audit" && !!u.searchParams.get("key"));
    const keySummaries = async () => page.getByTestId("event-summary").allTextContents();
    await waitFor(async () => ((await keySummaries()).some((t) => t.startsWith("created policy tools-audit")) ? true : undefined), 15_000, "the key's events");
    const byKey = await keySummaries();
    expect(byKey.some((t) => t.startsWith("created policy release v1"))).toBe(true);
    expect(byKey.every((t) => /^(created|changed) policy (release|tools-audit)\b/.test(t))).toBe(true);
    // an audit row → the object it changed: the policy's page
    const releaseRow = rows.filter({ hasText: "created policy release v1" }).first();
    await releaseRow.getByTestId("event-links").getByRole("link", { name: "policy release" }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/policies/"));
    expect(await page.locator("main h1").textContent()).toBe("release");
    await open("/audit");

    await page.locator('select[name="kind"]').selectOption("verdict");
    await waitFor(async () => ((await page.getByTestId("event-admin").count()) === 0 && (await rows.count()) > 0 ? true : undefined), 10_000, "verdict events only");
    const [json] = await Promise.all([page.waitForEvent("download"), page.getByTestId("audit-export-json").click()]);
    const body = JSON.parse(await fs.readFile((await json.path())!, "utf8")) as { events: { kind: string; verdict: string; previousVerdict: string | null; workload: string; imageDigest: string }[] };
    const verdicts = body.events.filter((e) => e.kind === "verdict");
    // one first verdict per container (each had no verdict before) ...
    expect(verdicts.filter((e) => e.previousVerdict === null)).toHaveLength(EXPECTED.containers);
    // ... and one change at most: the container started by tag is `error` (digest unresolved) when the
    // policy is saved after the worker's watch listed it, and `verified` once the scan resolved the tag
    const changes = verdicts.filter((e) => e.previousVerdict !== null).map((e) => `${e.workload}: ${e.previousVerdict} -> ${e.verdict}`);
    expect([[], ["Pod/pending: error -> verified"]]).toContainEqual(changes);
    expect(body.events.find((e) => e.imageDigest === s.digests.foreign)?.verdict).toBe("failed");
  });

  it("exports: the compliance report's rows match the scenario", async () => {
    await open("/exports");
    await page.getByTestId("report-rows").or(page.getByTestId("error-state")).waitFor();
    if (await page.getByTestId("error-state").count()) throw new Error(`export preview failed: ${await page.getByTestId("error-state").textContent()}\n${s.app.output().slice(-3000)}`);
    expect(await text("report-rows")).toBe(String(EXPECTED.containers));
    expect(await text("report-digests")).toBe(String(EXPECTED.images));
    expect(await text("report-verified")).toBe(String(EXPECTED.verified));
    await shot("exports");
    const [csv] = await Promise.all([page.waitForEvent("download"), page.getByTestId("compliance-csv").click()]);
    const lines = await csvRows((await csv.path())!);
    expect(lines).toHaveLength(EXPECTED.containers + 1);
    const header = lines[0]!.split(",");
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i], v])));
    const foreign = rows.find((r) => r.digest === s.digests.foreign)!;
    expect(foreign).toMatchObject({ namespace: "payments", policy: "release", policy_version: "1", verdict: "failed" });
    const classic = rows.find((r) => r.digest === s.digests.classic && r.namespace === "payments")!;
    expect(classic.verdict).toBe("verified");
    expect(classic.signers).toMatch(/^key:sha256:[0-9a-f]{64}$/);

    // the auditor's PDF and its signature, verified with real cosign and the key the page shows
    const downloads: Download[] = [];
    const collect = (d: Download) => downloads.push(d);
    page.on("download", collect);
    await page.getByTestId("report-pdf").click();
    await waitFor(async () => (downloads.length >= 2 ? true : undefined), 60_000, "the PDF and its .sig");
    page.off("download", collect);
    const pdf = downloads.find((d) => d.suggestedFilename().endsWith(".pdf"))!;
    const sig = downloads.find((d) => d.suggestedFilename().endsWith(".pdf.sig"))!;
    const dir = await fs.mkdtemp(path.join(ARTIFACTS, "signed-report-"));
    await pdf.saveAs(path.join(dir, "report.pdf"));
    await sig.saveAs(path.join(dir, "report.pdf.sig"));
    await fs.writeFile(path.join(dir, "signet-export.pub"), `${(await text("export-public-key")).trim()}\n`);
    const flat = (await pdfText(await fs.readFile(path.join(dir, "report.pdf")))).text.replace(/\s+/g, " ");
    expect(flat).toContain("Signet compliance report");
    expect(flat).toContain(s.digests.foreign);
    expect(flat).toMatch(/release v1 \(enforce\): failed - \d+ digests?/);
    // the chain is walked from its newest verified checkpoint (lib/data/auditor-report)
    expect(flat).toMatch(/Audit chain intact \(\d+ events verified after the verified checkpoint at event \d+; \d+ events through it verified by a full walk/);
    // the key both policies write inline: one authority, by its fingerprint, used by both
    const fpPdf = publicKeyFingerprint(await fs.readFile(s.ws.pub, "utf8"));
    expect(flat).toContain(`Authorities (1) ${shortFingerprint(fpPdf)} key`);
    expect(flat).toContain(`${fpPdf} used by: release (ci), tools-audit (ci)`);
    const { stdout, stderr } = await execFileP(registryTools().cosign, ["verify-blob", "--key", "signet-export.pub", "--signature", "report.pdf.sig", "--insecure-ignore-tlog=true", "report.pdf"], {
      cwd: dir,
      env: { ...process.env, HOME: dir },
    });
    expect(stdout + stderr).toContain("Verified OK");
    // the page shows the exact command for a downloaded file
    expect(await text("verify-command")).toMatch(/^cosign verify-blob --key signet-export\.pub --signature (\S+)\.sig --insecure-ignore-tlog=true \1$/);

    // an administrator rotates the export key: the page shows the new key and keeps the old one
    // published with its period; the report signed before still verifies with it
    const oldFingerprint = (await text("export-key-fingerprint")).replace(/^sha256:/, "");
    await page.getByTestId("export-key-rotate").click();
    await page.getByTestId("export-key-rotate-confirm").click();
    await waitFor(async () => ((await text("export-key-fingerprint")) !== `sha256:${oldFingerprint}` ? true : undefined), 20_000, "the new export key on the page");
    const row = page.getByTestId(`export-key-${oldFingerprint}`);
    await row.waitFor();
    expect(await row.textContent()).toContain(`sha256:${oldFingerprint}`);
    const oldKey = await page.request.get(`${s.base}/api/exports/public-key?fingerprint=${oldFingerprint}`);
    expect(oldKey.status()).toBe(200);
    await fs.writeFile(path.join(dir, "signet-export-old.pub"), await oldKey.text());
    const again = await execFileP(registryTools().cosign, ["verify-blob", "--key", "signet-export-old.pub", "--signature", "report.pdf.sig", "--insecure-ignore-tlog=true", "report.pdf"], {
      cwd: dir,
      env: { ...process.env, HOME: dir },
    });
    expect(again.stdout + again.stderr).toContain("Verified OK");
    await fs.writeFile(path.join(dir, "signet-export-new.pub"), `${(await text("export-public-key")).trim()}\n`);
    await expect(
      execFileP(registryTools().cosign, ["verify-blob", "--key", "signet-export-new.pub", "--signature", "report.pdf.sig", "--insecure-ignore-tlog=true", "report.pdf"], { cwd: dir, env: { ...process.env, HOME: dir } }),
    ).rejects.toThrow();
    await shot("exports-rotated");

    await page.locator('select[name="namespace"]').selectOption("tools");
    await waitFor(async () => ((await text("report-rows")) === "2" ? true : undefined), 10_000, "tools only");
    // the scope is in the address: a reload keeps it
    await waitFor(async () => (new URL(page.url()).searchParams.get("namespace") === "tools" ? true : undefined), 10_000, "namespace in the URL");
    await page.reload();
    await page.locator('main [data-hydrated="true"]').first().waitFor();
    expect(await page.locator('select[name="namespace"]').inputValue()).toBe("tools");
    await waitFor(async () => ((await text("report-rows")) === "2" ? true : undefined), 30_000, "tools only after a reload");
    expect(errors).toEqual([]);
  });

  it("drill-down: a cluster tile to the filtered list, then namespace → container (failing first) and back", async () => {
    await page.goto(`${s.base}/clusters`);
    await page.getByTestId("clusters-table").getByRole("link", { name: "admin", exact: true }).click();
    await page.waitForURL(`${s.base}/clusters/admin`);
    expect(await text("tile-failed")).toContain(String(EXPECTED.failed));
    expect(await text("cluster-ns-tools")).toContain("50.0%");
    // the cluster's trend and progress use its own target (SIGNET_CLUSTER_COVERAGE_TARGETS admin=80)
    expect(await page.getByTestId("cluster-trend").getByTestId("coverage-trend").getAttribute("aria-label")).toContain("target 80%");
    expect(await text("cluster-target-progress")).toBe("Toward this cluster's target of 80%: 1 more container to verify.");
    // a tile opens the list behind its count: the containers it counts
    await page.getByTestId("tile-failed").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("cluster") === "admin" && u.searchParams.get("bucket") === "failed");
    await page.getByTestId("containers-table").waitFor();
    const rows = page.getByTestId("containers-table").locator("tbody tr");
    expect(await rows.count()).toBe(EXPECTED.failed);
    expect(await rows.first().textContent()).toContain("tag v1");
    await rows.first().getByRole("link", { name: /apps\/foreign/ }).click();
    await page.getByTestId("trust-chain").waitFor();
    // signed by a key no policy trusts: named as such, never "none"
    expect(await text("image-signers")).toBe("no trusted signer");
    expect(await page.getByTestId("evidence").textContent()).toContain("signed by an untrusted key");
    // the key two policies trust is one candidate, named as the Keys page names it
    const trusted = shortFingerprint(publicKeyFingerprint(await fs.readFile(s.ws.pub, "utf8")));
    expect(await page.getByTestId("evidence").textContent()).toContain(`signature does not verify with the one candidate key (${trusted})`);
    // image → its audit rows → the image list of that digest, and back
    const imageUrl = page.url();
    await page.getByRole("link", { name: "Audit log of this digest" }).click();
    await page.waitForURL((u) => u.pathname === "/audit" && u.searchParams.get("imageDigest") === s.digests.foreign);
    const auditRows = page.getByTestId("audit-table").locator("tbody tr");
    await waitFor(async () => ((await auditRows.count()) > 0 ? true : undefined), 15_000, "the digest's audit rows");
    expect(await page.getByTestId("event-summary").first().textContent()).toContain(s.digests.foreign);
    await auditRows.first().getByRole("link", { name: /^image sha256:/ }).click();
    await page.waitForURL((u) => u.pathname === "/images" && u.searchParams.get("q") === s.digests.foreign);
    await waitFor(async () => ((await page.getByTestId("images-table").locator("tbody tr").count()) === 1 ? true : undefined), 10_000, "the digest's image");
    await page.goto(imageUrl);
    await page.getByTestId("trust-chain").waitFor();
    // image → its namespace
    await page.getByTestId("image-namespaces").getByRole("link", { name: "admin/payments" }).click();
    await page.waitForURL(`${s.base}/clusters/admin/payments`);
    // workloads failing first: the failed one leads, then the verified ones
    const workloads = page.getByTestId("ns-workloads").locator("[data-testid^='workload-']");
    expect(await workloads.first().getAttribute("data-testid")).toBe("workload-Pod/foreign");
    expect(await workloads.count()).toBe(4);
    // the card's count of workloads is its rows (one page: no page links)
    expect(await text("ns-workloads-total")).toBe("4");
    expect(await page.getByTestId("ns-workloads-pages").count()).toBe(0);
    const foreign = page.getByTestId("container-foreign-app");
    expect(await foreign.textContent()).toContain("failed");
    expect(await foreign.textContent()).toContain("tag v1");
    await foreign.getByRole("link", { name: "app", exact: true }).click();
    await page.getByTestId("container-verdicts").waitFor();
    const verdict = (await text("container-verdict-release")) ?? "";
    expect(verdict).toContain("failed");
    expect(verdict).toContain("v1 · enforce");
    expect(await text("container-digest")).toBe(s.digests.foreign);
    const containerUrl = page.url();
    // and back: the browser's history, then the breadcrumbs
    await page.goBack();
    await page.waitForURL(`${s.base}/clusters/admin/payments`);
    await page.getByTestId("ns-workloads").waitFor();
    await page.goForward();
    await page.waitForURL(containerUrl);
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Pod/foreign" }).click();
    await page.getByTestId("pod-foreign").waitFor();
    // the workload page's counts are its rows (one page of pods: no page links)
    expect([await text("workload-pods-total"), await text("workload-containers-total")]).toEqual(["1", String(await page.getByTestId("pod-foreign").locator("tbody tr").count())]);
    expect(await page.getByTestId("workload-pages").count()).toBe(0);
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "admin", exact: true }).click();
    await page.waitForURL(`${s.base}/clusters/admin`);
    await page.getByTestId("cluster-namespaces").waitFor();

    // "Scan this cluster" scans it, and links to the progress
    await page.locator('[data-hydrated="true"]').getByRole("button", { name: "Scan this cluster" }).click();
    await page.getByRole("status").getByRole("link", { name: "follow its progress" }).click();
    await page.waitForURL(`${s.base}/scans`);
    await page.getByTestId("scans-table").waitFor();
    // the new scan (newest first) is of cluster admin, and ends as the first did
    await page.waitForFunction(() => document.querySelector('[data-testid="scans-table"] [data-testid="scan-status"]')?.textContent === "succeeded", undefined, { timeout: 90_000 });
    const { scans } = (await (await page.request.get(`${s.base}/api/scans?limit=1`)).json()) as { scans: { cluster?: string | null; status: string }[] };
    expect(scans[0]).toMatchObject({ cluster: "admin", status: "succeeded" });
    // a one-cluster scan's row → that cluster's page
    await page.getByTestId("scan-cluster").first().click();
    await page.waitForURL(`${s.base}/clusters/admin`);
    expect(await page.locator("main h1").textContent()).toContain("admin");
  });

  it("forms show each field's error next to it; an empty or 3 MB policy gets a readable message", async () => {
    errors.length = 0;
    await open("/keys");
    const key = page.locator('form[aria-label="Add a key"]');
    await key.getByRole("button", { name: "Add key" }).click();
    await key.getByTestId("field-error-name").waitFor();
    expect(await key.getByTestId("field-error-name").textContent()).toBe("Required.");
    expect(await key.getByTestId("field-error-pem").textContent()).toBe("Required.");
    expect(await key.locator('input[name="name"]').getAttribute("aria-invalid")).toBe("true");
    await key.locator('input[name="name"]').fill("not-a-key");
    await key.locator('textarea[name="pem"]').fill("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----");
    await key.getByRole("button", { name: "Add key" }).click();
    await waitFor(async () => ((await key.getByTestId("field-error-name").count()) === 0 ? true : undefined), 10_000, "the name accepted");
    expect(await key.getByTestId("field-error-pem").textContent()).toContain("The public key cannot be parsed");

    await open("/admin/credentials");
    const cred = page.locator('form[aria-label="Add registry credentials"]');
    await cred.getByRole("button", { name: "Add credentials" }).click();
    await cred.getByTestId("field-error-host").waitFor();
    expect(await cred.getByTestId("field-error-host").textContent()).toBe("Required.");

    await open("/reminders");
    const hook = page.locator('form[aria-label="Add a webhook"]');
    await hook.getByRole("button", { name: "Add webhook" }).click();
    await hook.getByTestId("field-error-name").waitFor();
    expect(await hook.getByTestId("field-error-name").textContent()).toBe("Required.");
    expect(await hook.getByTestId("field-error-url").textContent()).toBe("Required.");

    await open("/policies");
    const policy = page.locator('form[aria-label="New policy"]');
    await policy.locator("textarea").fill("   ");
    await policy.getByRole("button", { name: "Create policy" }).click();
    expect(await text("policy-error")).toBe("The policy is empty: write a policy document or upload a file.");
    const big = `# ${"x".repeat(3 * 1024 * 1024)}\n`;
    await page.getByTestId("policy-upload").setInputFiles({ name: "huge.yaml", mimeType: "application/yaml", buffer: Buffer.from(big) });
    await waitFor(async () => ((await text("policy-error")).includes("3 MiB") ? true : undefined), 10_000, "the size refused before sending");
    expect(await text("policy-error")).toContain("at most 256 Ki characters");
    // the browser logged each refused request (the key and credential forms' 4xx): nothing else
    expect(errors.every((e) => /status of 4\d\d/.test(e))).toBe(true);
    errors.length = 0;
  });

  it("trusted roots: each count opens the entries it counts", async () => {
    await open("/trust-roots");
    await page.getByTestId("trust-roots-table").waitFor();
    for (const part of ["certificateAuthorities", "tlogs", "ctlogs", "timestampAuthorities"]) {
      const link = page.getByTestId(`trust-root-count-public-good-${part}`);
      const figure = Number(((await link.textContent()) ?? "").split(" ")[0]);
      await link.click();
      await page.waitForURL((u) => u.pathname === "/trust-roots" && u.hash === `#root-public-good-${part}`);
      expect(await page.getByTestId(`trust-root-entries-public-good-${part}`).locator("li").count()).toBe(figure);
      if (part === "tlogs") expect(figure).toBeGreaterThan(0);
    }
  });

  it("every page: no serious or critical accessibility violation, nothing wider than a 390 px screen; screenshots light and dark", async () => {
    const axeSource = await fs.readFile(require.resolve("axe-core/axe.min.js"), "utf8");
    const shotsDir = process.env.SIGNET_SCREENSHOTS_DIR ?? path.join(ARTIFACTS, "screenshots");
    await fs.mkdir(shotsDir, { recursive: true });
    // the pages behind the drill-down links, found from the pages themselves
    await page.goto(`${s.base}/clusters/admin/payments`);
    const workloadHref = (await page.getByTestId("ns-workloads").getByRole("link", { name: "Pod/foreign" }).getAttribute("href"))!;
    const containerHref = (await page.getByTestId("container-foreign-app").getByRole("link", { name: "app", exact: true }).getAttribute("href"))!;
    const imageHref = (await page.getByTestId("container-foreign-app").getByRole("link", { name: /apps\/foreign/ }).getAttribute("href"))!;
    await page.goto(`${s.base}/policies`);
    const policyHref = (await page.getByRole("link", { name: "release", exact: true }).getAttribute("href"))!;
    await page.goto(`${s.base}/keys`);
    const revokeHref = (await page.getByRole("link", { name: /^Revoke / }).first().getAttribute("href"))!;
    const signerHref = (await page.getByTestId("usage-link").first().getAttribute("href"))!;
    await page.goto(`${s.base}/scans`);
    const scanHref = (await page.getByTestId("scan-link").first().getAttribute("href"))!;
    const pages: [string, string][] = [
      ["overview", "/"],
      ["images", "/images"],
      ["image", imageHref],
      ["clusters", "/clusters"],
      ["cluster", "/clusters/admin"],
      ["namespace", "/clusters/admin/payments"],
      ["workload", workloadHref],
      ["container", containerHref],
      ["containers", "/containers?bucket=failed,unsigned,error"],
      ["containers-by-key", signerHref],
      ["policies", "/policies"],
      ["policy", policyHref],
      ["keys", "/keys"],
      ["revoke", revokeHref],
      ["trust-roots", "/trust-roots"],
      ["reminders", "/reminders"],
      ["rejections", "/rejections"],
      ["audit", "/audit"],
      ["scans", "/scans"],
      ["scan", scanHref],
      ["exports", "/exports"],
      ["users", "/admin/users"],
      ["credentials", "/admin/credentials"],
      ["api-docs", "/api-docs"],
    ];
    const problems: string[] = [];
    const visit = async (p: Page, name: string, url: string) => {
      for (const scheme of ["light", "dark"] as const) {
        await p.emulateMedia({ colorScheme: scheme });
        for (const width of [1440, 390]) {
          await p.setViewportSize({ width, height: 900 });
          await p.goto(`${s.base}${url}`);
          await p.waitForLoadState("networkidle");
          expect(await p.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(scheme === "dark");
          // charts size themselves after the first paint (a ResizeObserver): the settled layout must fit
          if (width === 390 && !(await p.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, undefined, { timeout: 15_000 }).then(() => true, () => false)))
            problems.push(`${name}: wider than 390 px (${await p.evaluate(() => document.documentElement.scrollWidth)} px)`);
          if (width === 1440) {
            await p.evaluate(axeSource);
            const found = await p.evaluate(async () => {
              const r = await (window as unknown as { axe: { run: (o: unknown) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run({ resultTypes: ["violations"] });
              return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}) at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
            });
            for (const f of found) problems.push(`${name} ${scheme}: ${f}`);
          }
          await p.screenshot({ path: path.join(shotsDir, `${name}-${scheme}-${width}.png`), fullPage: true });
        }
      }
    };
    // three tabs of the signed-in context at a time: most of a visit is waiting (the load, the network
    // going idle), and each visit sets its own tab's scheme and width
    const tabs = [page, ...(await Promise.all([context.newPage(), context.newPage()]))];
    try {
      await mapLimit(pages, tabs.length, async ([name, url]) => {
        const tab = tabs.pop()!;
        try {
          await visit(tab, name, url);
        } finally {
          tabs.push(tab);
        }
      });
    } finally {
      for (const tab of tabs) if (tab !== page) await tab.close();
    }
    // the sign-in page, signed out
    const out = await browser.newContext();
    try {
      await visit(await out.newPage(), "sign-in", "/sign-in");
    } finally {
      await out.close();
    }
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(problems).toEqual([]);
  }, 600_000);

  it("a viewer sees the figures but no admin or auditor controls", async () => {
    const viewer = { name: "Vera Viewer", email: "vera@example.test", password: "vera's viewer password" };
    await page.goto(`${s.base}/admin/users`);
    await page.getByTestId("users-table").waitFor();
    await page.locator('form[aria-label="Add a user"] input[name="name"]').fill(viewer.name);
    await page.locator('form[aria-label="Add a user"] input[name="email"]').fill(viewer.email);
    await page.locator('form[aria-label="Add a user"] input[name="password"]').fill(viewer.password);
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByTestId(`user-${viewer.email}`).waitFor();

    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const vp = await other.newPage();
    try {
      await signInInBrowser(vp, s.base, viewer.email, viewer.password);
      expect(await vp.getByTestId("stat-coverage-containers").textContent()).toBe("66.6%");
      const nav = (await vp.getByRole("navigation", { name: "Main" }).textContent()) ?? "";
      expect(nav).not.toContain("Audit log");
      expect(nav).not.toContain("Exports");
      await vp.goto(`${s.base}/policies`);
      await vp.getByTestId("policies-table").waitFor();
      expect(await vp.getByTestId("policy-create").count()).toBe(0);
      await vp.goto(`${s.base}/scans`);
      await vp.getByTestId("scans-table").waitFor();
      expect(await vp.getByRole("button", { name: "Scan now" }).count()).toBe(0);
      await vp.goto(`${s.base}/audit`);
      expect(await vp.getByTestId("error-state").textContent()).toContain("auditor role");
      // the server refuses regardless of what the page shows
      const res = await vp.request.post(`${s.base}/api/policies`, { data: { yaml: s.policyYaml }, headers: { origin: s.base } });
      expect(res.status()).toBe(403);
      expect((await vp.request.get(`${s.base}/api/exports/compliance`)).status()).toBe(403);
    } finally {
      await other.close();
    }
  });
});
