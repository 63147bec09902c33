import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { exportKeyDto, exportKeyQuery } from "@/lib/dto/exports";
import { listExportKeys, toPublishedKeyDto } from "@/lib/exports/signing-key";

export const dynamic = "force-dynamic";

/**
 * The export keys' public halves (signed-in users): the current key as PEM by default
 * (`signet-export.pub`, what `cosign verify-blob --key` takes), a given key (current or rotated away:
 * the fingerprint an export's X-Signet-Signature-Key header names) with `fingerprint`, or JSON with
 * the current key and every older one with the period it was current.
 */
export const GET = route({ access: "viewer", query: exportKeyQuery, responses: { 200: exportKeyDto } }, async ({ query }) => {
  const keys = await listExportKeys(getDb());
  const current = keys[0]!;
  const key = query.fingerprint ? keys.find((k) => k.fingerprint === query.fingerprint) : current;
  if (!key) throw new ApiError("not_found", `No export key has the fingerprint ${query.fingerprint}.`);
  if (query.format === "json") {
    const previous = keys.slice(1).map(toPublishedKeyDto);
    return exportKeyDto.parse({ ...toPublishedKeyDto(key), createdAt: key.validFrom.toISOString(), previous: query.fingerprint ? [] : previous });
  }
  const filename = key === current ? "signet-export.pub" : `signet-export-${key.fingerprint.slice(0, 12)}.pub`;
  return new Response(key.publicKeyPem, {
    headers: { "content-type": "application/x-pem-file", "content-disposition": `attachment; filename="${filename}"`, "cache-control": "private, no-store" },
  });
});
