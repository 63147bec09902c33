import { z } from "zod";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { exportKeyDto } from "@/lib/dto/exports";
import { EXPORT_KEY_ALGORITHM, getExportSigner } from "@/lib/exports/signing-key";

export const dynamic = "force-dynamic";

/**
 * The export key's public key (signed-in users): PEM by default (`signet-export.pub`, what
 * `cosign verify-blob --key` takes), or JSON with its fingerprint and algorithm.
 */
export const GET = route({ access: "viewer", query: z.object({ format: z.enum(["pem", "json"]).default("pem") }) }, async ({ query }) => {
  const signer = await getExportSigner(getDb());
  if (query.format === "json") {
    return exportKeyDto.parse({ publicKeyPem: signer.publicKeyPem, fingerprint: signer.fingerprint, algorithm: EXPORT_KEY_ALGORITHM, createdAt: signer.createdAt.toISOString() });
  }
  return new Response(signer.publicKeyPem, {
    headers: { "content-type": "application/x-pem-file", "content-disposition": 'attachment; filename="signet-export.pub"', "cache-control": "private, no-store" },
  });
});
