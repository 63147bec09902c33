import { route } from "@/lib/api/route";
import { buildAuditorReport } from "@/lib/data/auditor-report";
import { getDatabaseUrl, getDb } from "@/lib/db/client";
import { auditorReportQuery } from "@/lib/dto/exports";
import { signedExport } from "@/lib/exports/download";
import { renderAuditorPdf } from "@/lib/report/auditor";

export const dynamic = "force-dynamic";

/** The auditor's compliance report of a scope and period as a PDF, signed with the export key (auditors). */
export const GET = route({ access: "auditor", query: auditorReportQuery }, async ({ query }) => {
  const db = getDb();
  const report = await buildAuditorReport(db, getDatabaseUrl(), query);
  return signedExport(db, { filename: `signet-report-${report.to.slice(0, 10)}.pdf`, contentType: "application/pdf" }, (sink) => renderAuditorPdf(report, sink));
});
