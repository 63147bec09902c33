import { describe, expect, it } from "vitest";
import { pdfSafe, renderAuditorPdf, type AuditorReport } from "@/lib/report/auditor";
import { pdfText } from "@/tests/support/pdf";

const digest = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;

function report(o: Partial<AuditorReport> = {}): AuditorReport {
  return {
    generatedAt: "2026-12-06T12:00:00.000Z",
    from: "2026-11-06T00:00:00.000Z",
    to: "2026-12-06T12:00:00.000Z",
    scope: { cluster: "prod-eu", namespace: null },
    coverage: { containersTotal: 12, containersVerified: 6, containersFailed: 1, containersUnsigned: 1, containersError: 1, containersUnmatched: 1, containersStale: 2, containersStaleVerified: 1, imagesTotal: 7, imagesVerified: 4 },
    namespaces: [
      { cluster: "prod-eu", namespace: "payments", total: 8, verified: 5, failed: 1, unsigned: 0, error: 0, stale: 2, staleVerified: 1, unmatched: 0 },
      { cluster: "prod-eu", namespace: "web", total: 4, verified: 1, failed: 0, unsigned: 1, error: 1, stale: 0, staleVerified: 0, unmatched: 1 },
    ],
    trend: [
      { at: "2026-11-10T00:00:00.000Z", base: 10, verified: 2 },
      { at: "2026-11-20T00:00:00.000Z", base: 10, verified: 5 },
      { at: "2026-12-06T00:00:00.000Z", base: 8, verified: 6 },
    ],
    nonVerified: [
      {
        digest: digest(1),
        verdict: "failed",
        images: ["registry.example/payments/api:1.2"],
        places: ["prod-eu/payments/Deployment/api"],
        policies: [{ policy: "release-signed", version: 3, mode: "enforce", verdict: "failed", reasons: ["signed by an untrusted key sha256:abcd"] }],
      },
      {
        digest: null,
        verdict: "error",
        images: ["registry.example/web/front:latest"],
        places: ["prod-eu/web/Deployment/front"],
        policies: [{ policy: "release-signed", version: 3, mode: "enforce", verdict: "error", reasons: ["registry unreachable: ECONNREFUSED"] }],
      },
    ],
    policies: [{ name: "release-signed", version: 3, mode: "enforce", enabled: true, source: "signet", updatedAt: "2026-12-01T08:30:00.000Z" }],
    authorities: [{ name: "release-2026", kind: "key", status: "active", identity: `sha256:${"ab".repeat(32)}`, algorithm: "ecdsa-p256", rotateBy: "2027-06-01T00:00:00.000Z", policies: ["release-signed (build)"] }],
    chain: {
      ok: true,
      checked: 42,
      head: { seq: "42", hash: "f".repeat(64) },
      problem: null,
      witness: "matched",
      checkedAt: "2026-12-06T12:00:00.000Z",
      checkpoint: { seq: "42", hash: "f".repeat(64), at: "2026-12-06T11:59:00.000Z", keyId: "c".repeat(64), signature: "SIG+base64==" },
      checkpointKey: "c".repeat(64),
    },
    exportKey: "e".repeat(64),
    ...o,
  };
}

describe("the auditor's PDF report", () => {
  it("holds scope, period, coverage, namespaces, every non-verified digest with its reason, policies, authorities and the checkpoint", async () => {
    const pdf = await renderAuditorPdf(report());
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    const { text } = await pdfText(pdf);
    const flat = text.replace(/\s+/g, " ");
    expect(flat).toContain("Signet compliance report");
    expect(flat).toContain("cluster: prod-eu; namespace: all");
    expect(flat).toContain("2026-11-06 00:00 UTC to 2026-12-06 12:00 UTC");
    expect(flat).toMatch(/Verified 6 50 %/);
    expect(flat).toMatch(/Error \(could not be checked, nothing known\) 1 8.3 %/);
    expect(flat).toMatch(/Stale \(last known only; 1 last known verified\) 2 16.6 %/);
    expect(flat).toContain("Coverage: 63.6 % (7 of the 11 containers a policy applies to). 2 containers Signet could not check now count by their last known verdict (stale; 1 of them verified); 1 never known count as not verified");
    expect(flat).toMatch(/prod-eu payments 8 5 1 0 0 2 0 75 ?%/);
    expect(flat).toMatch(/prod-eu web 4 1 0 1 1 0 1 33.3 ?%/);
    expect(flat).toContain(digest(1));
    expect(flat).toContain("release-signed v3 (enforce): failed - 1 digest Reason: signed by an untrusted key sha256:abcd");
    expect(flat).toMatch(/sha256:0{63}1 registry\.example\/payments\/api:1\.2 prod-eu\/payments\/Deployment\/api/);
    expect(flat).toContain("(digest unknown: tag not resolved)");
    expect(flat).toContain("registry unreachable: ECONNREFUSED");
    expect(flat).toMatch(/release-signed v3 enforce yes signet 2026-12-01 08:30 UTC/);
    expect(flat).toContain("release-2026");
    expect(flat).toContain("used by: release-signed (build)");
    expect(flat).toContain("event 42 at 2026-12-06 11:59 UTC");
    expect(flat).toContain("SIG+base64==");
    expect(flat).toMatch(/intact \(42 events verified from the first\)/);
    expect(flat).toContain("This report verified the chain from its first event.");
    // the trend's first and last points are told in words too
    expect(flat).toContain("20 % on 2026-11-10 00:00 UTC (2 of 10), 75 % on 2026-12-06 00:00 UTC (6 of 8); 3 snapshots");
    expect(flat).toContain("cosign verify-blob --key signet-export.pub");
  });

  it("says when the chain was checked only from the newest verified checkpoint", async () => {
    const r = report({ chain: { ...report().chain, checked: 5, verifiedFrom: { seq: "37", at: "2026-12-06T11:00:00.000Z", events: 37 } } });
    const flat = (await pdfText(await renderAuditorPdf(r))).text.replace(/\s+/g, " ");
    expect(flat).toContain("Audit chain intact (5 events verified after the verified checkpoint at event 37; 37 events through it verified by a full walk at 2026-12-06 11:00 UTC)");
    expect(flat).toContain("This report verified the chain only from the newest verified checkpoint (event 37, through which a full walk at 2026-12-06 11:00 UTC verified every event from the first)");
  });

  it("says when the chain is broken and when there is no trend", async () => {
    const r = report({ trend: [], chain: { ...report().chain, ok: false, problem: "link: event 7 does not link to event 6" } });
    const flat = (await pdfText(await renderAuditorPdf(r))).text.replace(/\s+/g, " ");
    expect(flat).toContain("NOT INTACT: link: event 7 does not link to event 6");
    expect(flat).toContain("No coverage snapshot in the period");
  });

  it("runs over pages with the table header repeated and every digest listed", async () => {
    const nonVerified = Array.from({ length: 300 }, (_, i) => ({
      digest: digest(i + 100),
      verdict: "unsigned",
      images: [`registry.example/team/svc-${i}:1`],
      places: [`prod-eu/ns-${i % 7}/Deployment/svc-${i}`],
      policies: [{ policy: "release-signed", version: 3, mode: "audit", verdict: "unsigned", reasons: ["no signature found"] }],
    }));
    const namespaces = Array.from({ length: 200 }, (_, i) => ({ cluster: "prod-eu", namespace: `ns-${String(i).padStart(3, "0")}`, total: 3, verified: 1, failed: 0, unsigned: 2, error: 0, stale: 0, staleVerified: 0, unmatched: 0 }));
    const { text, pages } = await pdfText(await renderAuditorPdf(report({ nonVerified, namespaces })));
    expect(pages).toBeGreaterThan(5);
    // each page numbered as it is written out (pages are streamed, not held), the last one says how many
    for (let i = 1; i <= pages; i++) expect(text).toContain(`Page ${i}`);
    expect(text.replace(/\s+/g, " ")).toContain(`End of the report (${pages} pages).`);
    for (const d of nonVerified) expect(text).toContain(d.digest);
    expect(text).toContain("ns-199");
    expect(text.match(/Namespace\s+Containers/g)!.length).toBeGreaterThan(1);
  });

  it("replaces characters the PDF's standard fonts cannot show, instead of writing broken glyphs", () => {
    expect(pdfSafe("ok → ✓ café")).toBe("ok ? ? café");
  });
});
