import { z } from "zod";
import { dateInput } from "@/lib/dto/read";

/** A published export key: the current one (`validUntil` null) or one rotated away (its private half is never sent). */
export const publishedExportKeyDto = z.object({
  publicKeyPem: z.string(),
  /** sha256 of the DER SubjectPublicKeyInfo, hex. */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  algorithm: z.string(),
  /** When it became the export key. */
  validFrom: z.string(),
  /** When a rotation replaced it (null: the current key). */
  validUntil: z.string().nullable(),
});
export type PublishedExportKeyDto = z.infer<typeof publishedExportKeyDto>;

/** The export keys as GET /api/exports/public-key?format=json answers: the current key's fields, and every older key. */
export const exportKeyDto = z.object({
  publicKeyPem: z.string(),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  algorithm: z.string(),
  /** When the current key became the export key (= validFrom). */
  createdAt: z.string(),
  validFrom: z.string(),
  /** Keys rotated away, newest first: exports signed before a rotation verify with these. */
  previous: z.array(publishedExportKeyDto),
});
export type ExportKeyDto = z.infer<typeof exportKeyDto>;

/** GET /api/exports/public-key: PEM (default) or JSON; `fingerprint` picks a key, current or older. */
export const exportKeyQuery = z.object({
  format: z.enum(["pem", "json"]).default("pem"),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/, "a sha256 fingerprint: 64 lower-case hex digits").optional(),
});

/** POST /api/exports/key/rotate answers with the key rotated away and the new one. */
export const exportKeyRotationDto = z.object({ previous: publishedExportKeyDto, current: publishedExportKeyDto });
export type ExportKeyRotationDto = z.infer<typeof exportKeyRotationDto>;

/** Scope and period of the auditor's PDF report (GET /api/exports/report). */
export const auditorReportQuery = z.object({
  from: dateInput.optional(),
  to: dateInput.optional(),
  cluster: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
});
export type AuditorReportQuery = z.infer<typeof auditorReportQuery>;
