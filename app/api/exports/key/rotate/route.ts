import { NextResponse } from "next/server";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { exportKeyRotationDto } from "@/lib/dto/exports";
import { rotateExportKey, toPublishedKeyDto } from "@/lib/exports/signing-key";

export const dynamic = "force-dynamic";

/**
 * Rotates Signet's export key (admin): a new key pair signs every export from now on; the old public
 * key stays published with the period it was current (GET /api/exports/public-key?format=json), its
 * private key is destroyed; audited with both fingerprints.
 */
export const POST = route({ access: "admin", responses: { 201: exportKeyRotationDto } }, async ({ user }) => {
  const { previous, current } = await rotateExportKey(getDb(), user.email);
  return NextResponse.json(exportKeyRotationDto.parse({ previous: toPublishedKeyDto(previous), current: toPublishedKeyDto(current) }), { status: 201 });
});
