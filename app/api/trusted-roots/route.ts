import { NextResponse } from "next/server";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { adminUrlRefusal } from "@/lib/egress/env";
import { getEnv } from "@/lib/env";
import { tufRefresh } from "@/lib/jobs/definitions/tuf";
import { sendFromWeb } from "@/lib/jobs/sender";
import { childLogger } from "@/lib/log";
import { LIMITS } from "@/lib/sigstore/limits";
import { addTrustedRoot, addTufRepository, listTrustedRoots, TRUSTED_ROOT_NAME } from "@/lib/trust/trusted-roots";

export const dynamic = "force-dynamic";

const log = childLogger("api-trusted-roots");

/** Trusted roots policies can name (`keyless.trustedRoot`): where each came from, its TUF refresh outcome, the policies naming it. */
export const GET = route({ access: "viewer" }, async () => ({ trustedRoots: await listTrustedRoots(getDb()) }));

const name = z.string().regex(TRUSTED_ROOT_NAME, "1-63 lower-case letters, digits, '.', '_' or '-'");
/** A JSON document of bounded size. */
const document = z
  .record(z.string(), z.unknown())
  .refine((d) => Buffer.byteLength(JSON.stringify(d)) <= LIMITS.trustedRootBytes, `larger than ${LIMITS.trustedRootBytes} bytes`);

const body = z.union([
  z.object({ name, trustedRoot: document }).strict(),
  z
    .object({
      name,
      tuf: z.object({ mirrorUrl: z.url({ protocol: /^https?$/ }).max(2048), root: document }).strict(),
    })
    .strict(),
]);

/**
 * Adds a trusted root (admin): a custom trusted_root.json (`trustedRoot`), or a TUF repository
 * (`tuf`: mirror URL and its initial root.json) whose trusted_root.json the worker fetches now and then
 * every hour. A root that does not validate is refused with 400 and the reason.
 */
// a trusted_root.json may be as large as LIMITS.trustedRootBytes, plus the request around it
export const POST = route({ access: "admin", body, maxBodyBytes: LIMITS.trustedRootBytes + 64 * 1024 }, async ({ body, user }) => {
  const db = getDb();
  if ("trustedRoot" in body) return { trustedRoot: await addTrustedRoot(db, { name: body.name, document: body.trustedRoot }, user.email) };
  const refusal = adminUrlRefusal(getEnv(), body.tuf.mirrorUrl, "TUF mirror");
  if (refusal) throw new ApiError("validation_failed", `The mirror URL is refused: ${refusal}.`, { field: "tuf.mirrorUrl" });
  await addTufRepository(db, { name: body.name, mirrorUrl: body.tuf.mirrorUrl, rootJson: JSON.stringify(body.tuf.root) }, user.email);
  let enqueued = true;
  try {
    await sendFromWeb(tufRefresh, { repository: body.name });
  } catch (err) {
    // the hourly refresh picks it up
    log.warn({ err, repository: body.name }, "could not enqueue tuf.refresh");
    enqueued = false;
  }
  return NextResponse.json({ repository: body.name, enqueued }, { status: 202 });
});
