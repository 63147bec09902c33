import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { getScanAdapters } from "@/lib/scan/real-adapters";
import { previewRevocation, revokeAuthority } from "@/lib/trust/revoke";

export const dynamic = "force-dynamic";

/** `ref` (decoded once by Next, never again): a stored authority's name, "policy:<policy>/<authority>", or a key fingerprint "sha256:<hex>". */
const params = z.object({ ref: z.string().min(1).max(300) });

/** Blast-radius preview: what would turn from verified to failed, per policy and mode. Writes nothing. */
export const GET = route({ access: "viewer", params }, async ({ params }) => previewRevocation(getDb(), params.ref));

const body = z.object({ reason: z.string().trim().min(3).max(500), confirm: z.string().min(1).max(300) }).strict();

/** Revokes, then re-evaluates every affected image at once (admin). `confirm` must repeat the authority's name. */
export const POST = route({ access: "admin", params, body }, async ({ params, body, user }) => {
  const ref = params.ref;
  const db = getDb();
  const preview = await previewRevocation(db, ref);
  if (body.confirm !== preview.label && body.confirm !== ref) throw new ApiError("bad_request", `Type ${preview.label} to confirm the revocation.`, { field: "confirm" });
  const r = await revokeAuthority(db, ref, body.reason, user.email, { adapters: getScanAdapters() });
  return { revoked: r.label, policies: r.policies, reevaluated: r.reevaluated, radius: { containers: r.radius.containers, images: r.radius.images, workloads: r.radius.workloads, namespaces: r.radius.namespaces, byPolicy: r.radius.byPolicy } };
});
