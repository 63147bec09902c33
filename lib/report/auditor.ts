import PDFDocument from "pdfkit";
import type { CoverageFigures } from "@/lib/coverage/compute";
import { coverage, coverageBase, coverageVerified, percent } from "@/lib/coverage/compute";

/**
 * The auditor's report as a PDF, pure: data in (lib/data/auditor-report.ts), bytes out, with pdfkit and
 * its built-in Helvetica / Courier (no browser, no font files). Sections: scope and period, coverage
 * summary and trend (a step chart of the snapshots in the period), per-namespace table, every running
 * digest that is not verified with each policy's reasons, policies and authorities in force, and the
 * audit chain's status with its newest signed checkpoint. The document is signed like every export
 * (lib/exports/download.ts); its footer says how to verify it.
 */

export interface NonVerifiedDigest {
  /** null when the tag could not be resolved to a digest */
  digest: string | null;
  verdict: string;
  images: string[];
  /** cluster/namespace/workload where it runs */
  places: string[];
  policies: { policy: string; version: number; mode: string; verdict: string; reasons: string[] }[];
}

export interface AuditorReport {
  generatedAt: string;
  from: string;
  to: string;
  scope: { cluster: string | null; namespace: string | null };
  coverage: CoverageFigures;
  namespaces: { cluster: string; namespace: string; total: number; verified: number; failed: number; unsigned: number; error: number; stale: number; staleVerified: number; unmatched: number }[];
  /** Per snapshot: the coverage ratio's figures (lib/coverage/compute coverageBase / coverageVerified). */
  trend: { at: string; base: number; verified: number }[];
  nonVerified: NonVerifiedDigest[];
  policies: { name: string; version: number; mode: string; enabled: boolean; source: string; updatedAt: string }[];
  authorities: { name: string; kind: string; status: string; identity: string; algorithm: string | null; rotateBy: string | null; policies: string[] }[];
  chain: {
    ok: boolean;
    checked: number;
    head: { seq: string; hash: string } | null;
    problem: string | null;
    witness: string;
    checkedAt: string;
    checkpoint: { seq: string; hash: string; at: string; keyId: string; signature: string } | null;
    checkpointKey: string;
    /**
     * Where this check started: the newest verified checkpoint (event `seq`, through which a full walk at
     * `at` verified `events` events); `checked` counts the events after it. Null or absent: from the first.
     */
    verifiedFrom?: { seq: string; at: string; events: number } | null;
  };
  /** Fingerprint of the export key the PDF is signed with. */
  exportKey: string;
}

const MARGIN = 40;

/** A namespace's coverage (the ratio of lib/coverage/compute), "-" when no policy applies there. */
function namespaceCoverage(n: { total: number; unmatched: number; verified: number; staleVerified: number }): string {
  const k = coverage({ containersTotal: n.total, containersUnmatched: n.unmatched, containersVerified: n.verified, containersStaleVerified: n.staleVerified });
  return k === null ? "-" : `${k} %`;
}
const FOOTER = 28;
/**
 * The widest glyph advance of a standard font plus its largest widening kern pair, per unit of font
 * size (AFM units / 1000: Helvetica 1015 + 60, Helvetica-Bold 1000 + 30, Courier 600 without kerning):
 * a text of n characters is at most n × this × size wide.
 */
const WIDEST_HELVETICA = 1.075;
const WIDEST_HELVETICA_BOLD = 1.03;
const WIDEST_COURIER = 0.6;

/** Helvetica and Courier of a PDF reader encode WinAnsi: other characters become "?" (never a broken glyph). */
export function pdfSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x20-\x7e\u00a0-\u00ff]/g, "?");
}

const utc = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;
const day = (iso: string) => iso.slice(0, 10);

interface Column {
  header: string;
  width: number;
  align?: "left" | "right";
  mono?: boolean;
}

/** Where the PDF's bytes go as pdfkit produces them (an export's sink: lib/exports/download.ts). */
export interface PdfSink {
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * Renders the report: into `sink` as pdfkit produces it, or into one Buffer without a sink. Each page
 * is written out when the next one starts (no `bufferPages`), so with a sink memory holds one page, not
 * the report: its footer is drawn when it starts and numbers it ("Page 3"); the last page says how many
 * there are. No second copy of the file is made when writing to a sink.
 */
export function renderAuditorPdf(r: AuditorReport): Promise<Buffer>;
export function renderAuditorPdf(r: AuditorReport, sink: PdfSink): Promise<void>;
export function renderAuditorPdf(r: AuditorReport, sink?: PdfSink): Promise<Buffer | void> {
  const doc = new PDFDocument({
    size: "A4",
    // landscape: a digest (71 characters), its image and where it runs fit on one line
    layout: "landscape",
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: MARGIN + FOOTER },
    compress: true,
    info: {
      Title: "Signet compliance report",
      Author: "Signet",
      Subject: `Image signature compliance, ${day(r.from)} to ${day(r.to)}`,
      CreationDate: new Date(r.generatedAt),
    },
  });

  const width = doc.page.width - MARGIN * 2;
  // ---- footers: drawn on each page as it starts (a page is written out when the next one starts)
  let pages = 0;
  // pdfkit keeps the current font and fill colour in the document; a page break can happen inside a
  // paragraph, which goes on in the font and colour it had after the footer is drawn
  const state = doc as unknown as { _font: unknown; _fontSize: number; _fillColor?: [PDFKit.Mixins.ColorValue, number] };
  const footer = () => {
    pages += 1;
    const saved = { font: state._font, size: state._fontSize, color: state._fillColor, x: doc.x, y: doc.y, bottom: doc.page.margins.bottom };
    // text below the bottom margin would start a new page: the footer writes inside a margin of 0
    doc.page.margins.bottom = 0;
    const y = doc.page.height - MARGIN - FOOTER + 10;
    doc.font("Helvetica").fontSize(7).fillColor("#64748b");
    doc.text(pdfSafe(`Signet compliance report, ${day(r.from)} to ${day(r.to)}, generated ${utc(r.generatedAt)}`), MARGIN, y, { width: width - 60, lineBreak: false });
    doc.text(`Page ${pages}`, MARGIN + width - 60, y, { width: 60, align: "right", lineBreak: false });
    doc.text(`Signed with the export key sha256:${r.exportKey.slice(0, 16)}...; verify: cosign verify-blob --key signet-export.pub --signature <file>.sig <file>`, MARGIN, y + 9, {
      width,
      lineBreak: false,
    });
    doc.page.margins.bottom = saved.bottom;
    state._font = saved.font;
    state._fontSize = saved.size;
    if (saved.color) doc.fillColor(saved.color[0], saved.color[1]);
    doc.x = saved.x;
    doc.y = saved.y;
  };
  footer();
  doc.on("pageAdded", footer);
  const bottom = () => doc.page.height - MARGIN - FOOTER;
  const ensure = (h: number) => {
    if (doc.y + h > bottom()) doc.addPage();
  };
  const heading = (text: string) => {
    ensure(60);
    doc.moveDown(0.8).font("Helvetica-Bold").fontSize(13).fillColor("#0f172a").text(text, MARGIN, doc.y, { width });
    doc.moveDown(0.3).font("Helvetica").fontSize(9).fillColor("#0f172a");
  };
  const para = (text: string, o: { mono?: boolean; size?: number; color?: string } = {}) => {
    doc.font(o.mono ? "Courier" : "Helvetica").fontSize(o.size ?? 9).fillColor(o.color ?? "#0f172a").text(pdfSafe(text), MARGIN, doc.y, { width });
  };
  const keyValues = (rows: [string, string][]) => {
    for (const [k, v] of rows) {
      ensure(14);
      const y = doc.y;
      doc.font("Helvetica-Bold").fontSize(9).fillColor("#334155").text(k, MARGIN, y, { width: 150 });
      doc.font("Helvetica").fillColor("#0f172a").text(pdfSafe(v), MARGIN + 155, y, { width: width - 155 });
      doc.y = Math.max(doc.y, y + 12);
    }
  };
  /**
   * `text` cut to fit `maxWidth` in the current font, with "..." when cut, and its width when measured
   * (null when it surely fits: the text is short enough that even the font's widest glyph would fit, so
   * pdfkit's per-glyph width and kerning lookup is skipped). Measured, not wrapped: pdfkit's line wrapper
   * and ellipsis are what makes long tables slow (a 10,000-container report has thousands of rows).
   */
  const fit = (text: string, maxWidth: number, widest: number, size: number): { text: string; width: number | null } => {
    const t = pdfSafe(text);
    if (t.length * widest * size <= maxWidth) return { text: t, width: null };
    let w = doc.widthOfString(t);
    if (w <= maxWidth) return { text: t, width: w };
    let n = Math.max(0, Math.floor((t.length * maxWidth) / w) - 3);
    let cut = `${t.slice(0, n)}...`;
    while (n > 0 && (w = doc.widthOfString(cut)) > maxWidth) cut = `${t.slice(0, --n)}...`;
    return { text: cut, width: w };
  };
  /** A table whose cells are one line each, cut to fit with "..."; the header repeats on new pages. */
  const table = (cols: Column[], rows: string[][]) => {
    const rowH = 12;
    const drawHeader = () => {
      const y = doc.y;
      doc.rect(MARGIN, y - 2, width, rowH + 2).fill("#e2e8f0");
      let x = MARGIN;
      doc.font("Helvetica-Bold").fontSize(8).fillColor("#0f172a");
      for (const c of cols) {
        const cell = fit(c.header, c.width - 4, WIDEST_HELVETICA_BOLD, 8);
        doc.text(cell.text, x + (c.align === "right" ? c.width - 2 - (cell.width ?? doc.widthOfString(cell.text)) : 2), y + 1, { lineBreak: false });
        x += c.width;
      }
      doc.y = y + rowH + 2;
    };
    ensure(rowH * 3);
    drawHeader();
    rows.forEach((row, i) => {
      if (doc.y + rowH > bottom()) {
        doc.addPage();
        drawHeader();
      }
      const y = doc.y;
      if (i % 2 === 1) doc.rect(MARGIN, y - 1, width, rowH).fill("#f8fafc");
      let x = MARGIN;
      cols.forEach((c, j) => {
        const size = c.mono ? 7 : 8;
        doc.font(c.mono ? "Courier" : "Helvetica").fontSize(size).fillColor("#0f172a");
        const cell = fit(row[j] ?? "", c.width - 4, c.mono ? WIDEST_COURIER : WIDEST_HELVETICA, size);
        const dx = c.align === "right" ? c.width - 2 - (cell.width ?? doc.widthOfString(cell.text)) : 2;
        doc.text(cell.text, x + dx, y + (c.mono ? 2 : 1), { lineBreak: false });
        x += c.width;
      });
      doc.y = y + rowH;
    });
    doc.x = MARGIN;
  };

  // ---- title, scope, period
  doc.font("Helvetica-Bold").fontSize(20).fillColor("#0f172a").text("Signet compliance report", MARGIN, MARGIN, { width });
  doc.moveDown(0.2).font("Helvetica").fontSize(10).fillColor("#475569").text("Which images running in the clusters are provably signed by someone trusted.", { width });
  doc.moveDown(0.8);
  keyValues([
    ["Scope", `cluster: ${r.scope.cluster ?? "all"}; namespace: ${r.scope.namespace ?? "all"}`],
    ["Period", `${utc(r.from)} to ${utc(r.to)}`],
    ["Generated", utc(r.generatedAt)],
    ["Audit chain", r.chain.ok ? `intact (${chainChecked(r.chain)})` : `NOT INTACT: ${r.chain.problem ?? "unknown problem"}`],
    ["Export key", `sha256:${r.exportKey}`],
  ]);

  // ---- coverage summary
  const c = r.coverage;
  const applicable = c.containersTotal - c.containersUnmatched;
  heading("Coverage summary");
  table(
    [
      { header: "Running containers", width: width * 0.5 },
      { header: "Count", width: width * 0.2, align: "right" },
      { header: "Share", width: width * 0.3, align: "right" },
    ],
    [
      ["Total", String(c.containersTotal), "100 %"],
      ["Verified", String(c.containersVerified), `${percent(c.containersVerified, c.containersTotal)} %`],
      ["Failed", String(c.containersFailed), `${percent(c.containersFailed, c.containersTotal)} %`],
      ["Unsigned", String(c.containersUnsigned), `${percent(c.containersUnsigned, c.containersTotal)} %`],
      ["Error (could not be checked, nothing known)", String(c.containersError), `${percent(c.containersError, c.containersTotal)} %`],
      [`Stale (last known only; ${c.containersStaleVerified} last known verified)`, String(c.containersStale), `${percent(c.containersStale, c.containersTotal)} %`],
      ["No policy applies (unmatched)", String(c.containersUnmatched), `${percent(c.containersUnmatched, c.containersTotal)} %`],
      ["Distinct images (digests)", String(c.imagesTotal), ""],
      ["Images verified everywhere they run", String(c.imagesVerified), `${percent(c.imagesVerified, c.imagesTotal)} %`],
    ],
  );
  doc.moveDown(0.4);
  const kc = coverage(c);
  para(
    `Coverage: ${kc === null ? "no policy applies to a running container" : `${kc} %`} (${coverageVerified(c)} of the ${coverageBase(c)} containers a policy applies to). ${c.containersStale} containers Signet could not check now count by their last known verdict (stale; ${c.containersStaleVerified} of them verified); ${c.containersError} never known count as not verified; ${c.containersUnmatched} run under no policy.`,
  );

  // ---- trend
  heading("Coverage trend");
  drawTrend(doc, r.trend, MARGIN, width, ensure);

  // ---- namespaces
  heading(`Per namespace (${r.namespaces.length})`);
  if (r.namespaces.length === 0) para("No running container in scope.");
  else
    table(
      [
        { header: "Cluster", width: 140 },
        { header: "Namespace", width: 150 },
        { header: "Containers", width: 60, align: "right" },
        { header: "Verified", width: 60, align: "right" },
        { header: "Failed", width: 60, align: "right" },
        { header: "Unsigned", width: 60, align: "right" },
        { header: "Error", width: 60, align: "right" },
        { header: "Stale", width: 60, align: "right" },
        { header: "Unmatched", width: 60, align: "right" },
        { header: "Coverage", width: width - 710, align: "right" },
      ],
      r.namespaces.map((n) => [n.cluster, n.namespace, String(n.total), String(n.verified), String(n.failed), String(n.unsigned), String(n.error), String(n.stale), String(n.unmatched), namespaceCoverage(n)]),
    );

  // ---- non-verified digests, grouped by what each policy said (one line per digest)
  heading(`Running digests not verified (${r.nonVerified.length})`);
  if (r.nonVerified.length === 0) para("Every running digest a policy applies to is verified.");
  else {
    para("Each digest that runs in scope and is not verified, under every policy that did not verify it, grouped by the policy's verdict and reason.", { size: 8, color: "#475569" });
    const groups = new Map<string, { title: string; reason: string; verdict: string; rows: string[][] }>();
    for (const d of r.nonVerified) {
      for (const p of d.policies) {
        if (p.verdict === "verified") continue;
        const reason = p.reasons.length ? p.reasons.join("; ") : "(no reason recorded)";
        const key = `${p.policy}\u0000${p.version}\u0000${p.verdict}\u0000${reason}`;
        let g = groups.get(key);
        if (!g) {
          g = { title: `${p.policy} v${p.version} (${p.mode}): ${p.verdict}`, reason, verdict: p.verdict, rows: [] };
          groups.set(key, g);
        }
        const where = `${d.places[0] ?? ""}${d.places.length > 1 ? ` +${d.places.length - 1}` : ""}`;
        const image = `${d.images[0] ?? ""}${d.images.length > 1 ? ` +${d.images.length - 1}` : ""}`;
        g.rows.push([d.digest ?? "(digest unknown: tag not resolved)", image, where]);
      }
    }
    const rank: Record<string, number> = { failed: 0, unsigned: 1, error: 2 };
    for (const g of [...groups.values()].sort((a, b) => (rank[a.verdict] ?? 3) - (rank[b.verdict] ?? 3) || b.rows.length - a.rows.length)) {
      ensure(50);
      doc.moveDown(0.4);
      doc.font("Helvetica-Bold").fontSize(9).fillColor(g.verdict === "error" ? "#92400e" : "#b91c1c").text(pdfSafe(`${g.title} - ${g.rows.length} digest${g.rows.length === 1 ? "" : "s"}`), MARGIN, doc.y, { width });
      doc.font("Helvetica").fontSize(8).fillColor("#0f172a").text(pdfSafe(`Reason: ${g.reason.slice(0, 1000)}`), MARGIN, doc.y, { width });
      doc.moveDown(0.2);
      table(
        [
          { header: "Digest", width: 305, mono: true },
          { header: "Image", width: 220 },
          { header: "Runs in (cluster/namespace/workload)", width: width - 525 },
        ],
        g.rows,
      );
    }
  }

  // ---- policies
  heading(`Policies in force (${r.policies.length})`);
  if (r.policies.length === 0) para("No policy.");
  else
    table(
      [
        { header: "Policy", width: 250 },
        { header: "Version", width: 60, align: "right" },
        { header: "Mode", width: 80 },
        { header: "Enabled", width: 60 },
        { header: "Source", width: 170 },
        { header: "Last change", width: width - 620 },
      ],
      r.policies.map((p) => [p.name, `v${p.version}`, p.mode, p.enabled ? "yes" : "no", p.source, utc(p.updatedAt)]),
    );

  // ---- authorities
  heading(`Authorities (${r.authorities.length})`);
  if (r.authorities.length === 0) para("No authority.");
  for (const a of r.authorities) {
    ensure(30);
    doc.font("Helvetica-Bold").fontSize(8.5).fillColor("#0f172a").text(pdfSafe(`${a.name}`), MARGIN, doc.y, { continued: true });
    doc.font("Helvetica").text(pdfSafe(`  ${a.kind}${a.algorithm ? ` ${a.algorithm}` : ""}, ${a.status}${a.rotateBy ? `, rotate by ${day(a.rotateBy)}` : ""}`), { width });
    doc.font("Courier").fontSize(7).text(pdfSafe(a.identity), MARGIN + 10, doc.y, { width: width - 10 });
    doc.font("Helvetica").fontSize(8).fillColor("#475569").text(pdfSafe(`used by: ${a.policies.length ? a.policies.join(", ") : "no policy"}`), MARGIN + 10, doc.y, { width: width - 10 });
    doc.moveDown(0.3);
  }

  // ---- audit chain
  heading("Audit log");
  keyValues([
    ["Status", r.chain.ok ? "intact: every event links to the one before it and matches its hash" : `NOT INTACT: ${r.chain.problem ?? ""}`],
    ["Events verified", chainChecked(r.chain)],
    ["Head", r.chain.head ? `event ${r.chain.head.seq}, hash ${r.chain.head.hash}` : "no event"],
    ["Newest checkpoint", r.chain.checkpoint ? `event ${r.chain.checkpoint.seq} at ${utc(r.chain.checkpoint.at)}` : "none"],
    ["Checkpoint hash", r.chain.checkpoint?.hash ?? "-"],
    ["Checkpoint key", r.chain.checkpoint ? r.chain.checkpoint.keyId : r.chain.checkpointKey],
    ["Checkpoint signature", r.chain.checkpoint?.signature ?? "-"],
    ["Local witness", r.chain.witness],
    ["Checked", utc(r.chain.checkedAt)],
  ]);
  doc.moveDown(0.5);
  para(
    `${
      r.chain.verifiedFrom
        ? `This report verified the chain only from the newest verified checkpoint (event ${r.chain.verifiedFrom.seq}, through which a full walk at ${utc(r.chain.verifiedFrom.at)} verified every event from the first): the events after it link to it and match their hashes and checkpoints. `
        : "This report verified the chain from its first event. "
    }The checkpoint is an Ed25519 signature over the chain's head (signet audit public-key prints its key); signet audit verify walks the whole chain, and signet audit verify --file checks a JSON export of the log offline.`,
    { size: 8, color: "#475569" },
  );

  ensure(24);
  doc.moveDown(0.5);
  para(`End of the report (${pages} pages).`, { size: 8, color: "#475569" });
  doc.end();
  return drain(doc, sink);
}

/** What the chain check covered: from the first event, or after the newest verified checkpoint. */
function chainChecked(c: AuditorReport["chain"]): string {
  return c.verifiedFrom
    ? `${c.checked} events verified after the verified checkpoint at event ${c.verifiedFrom.seq}; ${c.verifiedFrom.events} events through it verified by a full walk at ${utc(c.verifiedFrom.at)}`
    : `${c.checked} events verified from the first`;
}

/** Coverage (verified / running) over the period as a step line: a value holds until the next snapshot. */
function drawTrend(doc: PDFKit.PDFDocument, trend: AuditorReport["trend"], x0: number, width: number, ensure: (h: number) => void): void {
  if (trend.length === 0) {
    doc.font("Helvetica").fontSize(9).fillColor("#0f172a").text("No coverage snapshot in the period where a policy applied to a running container.", x0, doc.y, { width });
    return;
  }
  const h = 150;
  ensure(h + 40);
  const top = doc.y + 4;
  const left = x0 + 30;
  const w = width - 40;
  const t0 = new Date(trend[0]!.at).getTime();
  const t1 = Math.max(new Date(trend[trend.length - 1]!.at).getTime(), t0 + 1);
  const px = (t: number) => left + ((t - t0) / (t1 - t0)) * w;
  const py = (pct: number) => top + h - (pct / 100) * h;
  doc.lineWidth(0.5).strokeColor("#cbd5e1");
  doc.font("Helvetica").fontSize(7).fillColor("#475569");
  for (const pct of [0, 25, 50, 75, 100]) {
    doc.moveTo(left, py(pct)).lineTo(left + w, py(pct)).stroke();
    doc.text(`${pct} %`, x0, py(pct) - 3, { width: 26, align: "right", lineBreak: false });
  }
  const values = trend.map((p) => ({ x: px(new Date(p.at).getTime()), y: py(percent(p.verified, p.base)) }));
  doc.lineWidth(1.5).strokeColor("#059669");
  doc.moveTo(values[0]!.x, values[0]!.y);
  for (let i = 1; i < values.length; i++) {
    doc.lineTo(values[i]!.x, values[i - 1]!.y).lineTo(values[i]!.x, values[i]!.y);
  }
  if (values.length === 1) doc.lineTo(left + w, values[0]!.y);
  doc.stroke();
  const first = trend[0]!;
  const last = trend[trend.length - 1]!;
  doc.fillColor("#475569").fontSize(7);
  doc.text(utc(first.at), left, top + h + 4, { width: 120, lineBreak: false });
  doc.text(utc(last.at), left + w - 120, top + h + 4, { width: 120, align: "right", lineBreak: false });
  doc.y = top + h + 18;
  doc.font("Helvetica").fontSize(9).fillColor("#0f172a").text(
    pdfSafe(
      `Coverage: ${percent(first.verified, first.base)} % on ${utc(first.at)} (${first.verified} of ${first.base}), ${percent(last.verified, last.base)} % on ${utc(last.at)} (${last.verified} of ${last.base}); ${trend.length} snapshots.`,
    ),
    x0,
    doc.y,
    { width },
  );
}

/** Reads the ended document: each chunk into the sink (waiting for it), or all of them into one Buffer. */
async function drain(doc: PDFKit.PDFDocument, sink?: PdfSink): Promise<Buffer | void> {
  const chunks: Buffer[] = [];
  for await (const c of doc as AsyncIterable<Buffer>) {
    if (sink) await sink.write(c);
    else chunks.push(c);
  }
  if (!sink) return Buffer.concat(chunks);
}
