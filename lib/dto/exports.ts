import { z } from "zod";
import { dateInput } from "@/lib/dto/read";

/** The export key as GET /api/exports/public-key?format=json answers (its private half is never sent). */
export const exportKeyDto = z.object({
  publicKeyPem: z.string(),
  /** sha256 of the DER SubjectPublicKeyInfo, hex. */
  fingerprint: z.string(),
  algorithm: z.string(),
  createdAt: z.string(),
});
export type ExportKeyDto = z.infer<typeof exportKeyDto>;

/** Scope and period of the auditor's PDF report (GET /api/exports/report). */
export const auditorReportQuery = z.object({
  from: dateInput.optional(),
  to: dateInput.optional(),
  cluster: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
});
export type AuditorReportQuery = z.infer<typeof auditorReportQuery>;
