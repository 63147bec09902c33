import fs from "node:fs/promises";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFirstAdmin, waitForSetupLink } from "@/tests/support/auth-browser";
import { ARTIFACTS, launchChromium } from "@/tests/support/browser";
import { EXPECTED, startDashboardScenario, type DashboardScenario } from "@/tests/support/dashboard-scenario";
import { waitFor } from "@/tests/support/process";

/**
 * The overview as a security lead reads it, on the production build with data from real scans, through
 * the cases issue 15 found: the first-run checklist; a policy saved without a rescan (tiles and the
 * failures list must agree); the registry stopped mid-life (verdicts stay, marked stale, coverage not
 * 0 %); the apiserver stopped (a banner with the reason); the kubeconfig removed (a scan of zero
 * clusters fails, with the reason in a banner).
 */
describe("overview: one source of truth, honest about what Signet cannot see", () => {
  let s: DashboardScenario;
  let browser: Browser;
  let page: Page;
  const admin = { name: "Tess Truth", email: "tess@example.test", password: "tess's overview password" };

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `overview-${name}.png`), fullPage: true });
  const text = async (testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? "").trim();
  const overview = async () => {
    await page.goto(`${s.base}/`);
    await page.getByTestId("stat-last-scan").waitFor();
  };
  const post = async (url: string, data: unknown) => {
    const res = await page.request.post(`${s.base}${url}`, { data, headers: { origin: s.base } });
    expect(res.status(), await res.text()).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown>;
  };
  /** Scan now (API), to the end; returns its status. */
  const scan = async () => {
    const { scanId } = (await post("/api/scans", {})) as { scanId: string };
    return waitFor(
      async () => {
        const r = (await (await page.request.get(`${s.base}/api/scans/${scanId}`)).json()) as { status: string };
        return ["succeeded", "partial", "failed"].includes(r.status) ? r.status : undefined;
      },
      120_000,
      "the scan to finish",
    );
  };
  /** The newest re-evaluation run, once finished. */
  const reevaluated = () =>
    waitFor(
      async () => {
        const { scans } = (await (await page.request.get(`${s.base}/api/scans?limit=5`)).json()) as { scans: { kind: string; status: string }[] };
        const r = scans.find((x) => x.kind === "reevaluate");
        return r && !["queued", "running"].includes(r.status) ? r.status : undefined;
      },
      60_000,
      "the re-evaluation to finish",
    );

  beforeAll(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    [s, browser] = await Promise.all([startDashboardScenario(), launchChromium()]);
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    // the setup link is a plain banner on the server's output, not inside a JSON log line
    const link = await waitForSetupLink(() => s.app.output());
    const line = s.app.output().split("\n").find((l) => l.includes(link))!;
    expect(line.trim()).toBe(link);
    await createFirstAdmin(page, link, admin);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it("first run: a checklist until the first successful scan, then the scenario's figures", async () => {
    await overview();
    await page.getByTestId("first-run").waitFor();
    expect(await page.getByTestId("first-run-cluster").getAttribute("data-done")).toBe("true");
    expect(await page.getByTestId("first-run-policy").getAttribute("data-done")).toBe("false");
    expect(await page.getByTestId("first-run-scan").getAttribute("data-done")).toBe("false");
    await shot("first-run");

    await post("/api/policies", { yaml: s.policyYaml });
    expect(await reevaluated()).toBe("succeeded");
    expect(await scan()).toBe("succeeded");
    await overview();
    expect(await page.getByTestId("first-run").count()).toBe(0);
    expect(await text("stat-coverage-containers")).toBe("66.6%"); // 4 of 6 known
    expect(s.registry.logs()).toContain("response completed"); // the registry logs what it answers
    expect(await text("stat-failing")).toBe(String(EXPECTED.failed + EXPECTED.unsigned));
    expect(await text("stat-failing-detail")).toBe("1 failed · 1 unsigned · 0 error");
    expect(await text("mix-error")).toBe("error0");
    expect(await text("stat-stale")).toBe("0");
    // the snapshot of the re-evaluation before any scan held no container: no point for it (the worker's
    // refreshes between scans may add points of the same figures)
    expect(Number(await page.getByTestId("coverage-trend").getAttribute("data-points"))).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId("coverage-trend").getAttribute("aria-label")).toContain("last 66.6% of containers verified");
    // the range is in the URL
    await page.getByTestId("trend-range-7d").click();
    await page.waitForURL((u) => u.searchParams.get("range") === "7d");
    expect(await page.getByTestId("trend-range-7d").getAttribute("aria-current")).toBe("page");
    expect(await text("rollout-progress")).toBe("Toward the target of 90%: 2 more containers to verify.");
  });

  it("a policy saved without a rescan: re-evaluated from stored evidence, and the tiles agree with the failures list", async () => {
    // tools-audit narrowed to nothing that runs: tools' two containers are unmatched now
    const narrowed = s.policyYaml.replace("scope: { images: [\"" + s.registry.host + "/apps/**\"], namespaces: [tools] }", "scope: { images: [\"" + s.registry.host + "/none/**\"], namespaces: [tools] }");
    expect(narrowed).not.toBe(s.policyYaml);
    const registryLog = s.registry.logs().split("response completed").length;
    await post("/api/policies", { yaml: narrowed });
    expect(await reevaluated()).toBe("succeeded");
    // from stored evidence: the registry was not asked anything (its log did not grow)
    expect(s.registry.logs().split("response completed").length).toBe(registryLog);
    await overview();
    expect(await page.getByTestId("reevaluating").count()).toBe(0);
    expect(await text("mix-unmatched")).toBe("unmatched2");
    expect(await text("stat-failing")).toBe("1");
    const failures = (await page.getByTestId("newest-failures").textContent()) ?? "";
    expect(failures).toContain("apps/foreign");
    // the contradiction of issue 15: an unsigned row beside "0 unsigned"
    expect(failures).not.toContain("apps/unsigned");
    await post("/api/policies", { yaml: s.policyYaml });
    expect(await reevaluated()).toBe("succeeded");
  });

  it("registry stopped mid-life: verdicts keep their last known value, marked stale; coverage holds", async () => {
    await s.registry.stop();
    expect(await scan()).toBe("partial");
    await overview();
    // every container keeps its last known verdict: the figure neither drops to 0 % nor changes
    expect(await text("stat-coverage-containers")).toBe("66.6%");
    expect(await text("stat-coverage-detail")).toContain(`${EXPECTED.verified} of ${EXPECTED.containers} (${EXPECTED.verified} by their last known verdict, stale)`);
    expect(await text("stat-stale")).toBe(String(EXPECTED.containers));
    expect(await text("stat-stale-detail")).toContain(`${EXPECTED.containers} stale (last known ${EXPECTED.verified} verified)`);
    // grouped by reason with the time since, not one identical row per image
    const groups = page.getByTestId("stale-group");
    expect(await groups.count()).toBeLessThan(EXPECTED.images);
    expect(await groups.first().textContent()).toMatch(/stale since \d{4}-\d\d-\d\d .*(ECONNREFUSED|refused)/);
    expect(await page.getByTestId("newest-failures").getByText(/ECONNREFUSED/).count()).toBe(0);
    await shot("registry-down");
    // the Stale / unknown tile opens the list behind it: exactly the containers it counts (stale and
    // unknown), as many rows as its figure
    const tile = Number(await text("stat-stale"));
    await page.getByTestId("stat-stale-link").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("bucket") === "stale,error");
    expect(await text("containers-total")).toBe(String(tile));
    expect(await page.getByTestId("containers-table").locator("tbody tr").count()).toBe(tile);
    // the stale banner's title opens the stale containers (here every one: all were known before)
    await overview();
    await page.getByTestId("stale-card-link").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("bucket") === "stale");
    expect(await text("containers-total")).toBe(String(EXPECTED.containers));
    // each stale group's count opens the containers of that group: as many rows as its count
    await overview();
    const first = page.getByTestId("stale-group").first();
    const groupCount = ((await first.getByTestId("stale-group-link").textContent()) ?? "").trim();
    await first.getByTestId("stale-group-link").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("bucket") === "stale" && (u.searchParams.get("reason") ?? "") !== "");
    expect(await text("containers-total")).toBe(groupCount);
    expect(String(await page.getByTestId("containers-table").locator("tbody tr").count())).toBe(groupCount);
    // the cluster page: its Stale tile and a namespace's stale count open the containers they count
    await page.goto(`${s.base}/clusters/admin`);
    const staleTile = ((await page.getByTestId("tile-stale").textContent()) ?? "").replace(/\D/g, "");
    expect(staleTile).toBe(String(EXPECTED.containers));
    await page.getByTestId("tile-stale").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("cluster") === "admin" && u.searchParams.get("bucket") === "stale");
    expect(await text("containers-total")).toBe(staleTile);
    await page.goto(`${s.base}/clusters/admin`);
    const nsStale = await text("cluster-ns-stale-payments");
    await page.getByTestId("cluster-ns-stale-payments").click();
    await page.waitForURL((u) => u.pathname === "/containers" && u.searchParams.get("namespace") === "payments");
    expect(await text("containers-total")).toBe(nsStale);
  });

  it("apiserver stopped: a banner names the cluster and the reason", async () => {
    await s.kube.stop();
    expect(await scan()).toBe("failed");
    await overview();
    await page.getByTestId("banner-cluster-admin").waitFor();
    expect(await text("banner-cluster-admin")).toMatch(/Cluster admin could not be read since .*(ECONNREFUSED|connect|refused)/i);
    expect(await text("banner-scan-failed")).toContain("admin");
    expect(await text("stat-last-scan")).toBe("failed");
    await shot("apiserver-down");
  });

  it("kubeconfig removed: a scan of zero clusters is failed, with the reason in a banner", async () => {
    await fs.rm(s.kubeconfigPath);
    expect(await scan()).toBe("failed");
    await overview();
    await page.getByTestId("banner-config").waitFor();
    expect(await text("banner-config")).toContain(`kubeconfig ${s.kubeconfigPath} does not exist`);
    expect(await text("stat-last-scan")).toBe("failed");
    // still nothing counted as verified, and the stale containers are still there
    expect(await text("stat-stale")).toBe(String(EXPECTED.containers));
    await shot("kubeconfig-removed");
  });
});
