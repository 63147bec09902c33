import { route } from "@/lib/api/route";
import { iterateImages } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { imageListQuery } from "@/lib/dto/read";
import { signedCsv } from "@/lib/exports/download";

export const dynamic = "force-dynamic";

const HEADER = ["registry", "repository", "digest", "verdict", "discovery", "running_containers", "signers", "last_seen"] as const;

/** The image list under the current filters (every page) as CSV, signed with the export key. */
export const GET = route({ access: "viewer", query: imageListQuery }, async ({ query }) => {
  async function* rows() {
    for await (const r of iterateImages(getDb(), query)) {
      yield [r.registry, r.repository, r.digest, r.verdict ?? "", r.discovery, r.runningContainers, r.signers.join(" "), r.lastSeen];
    }
  }
  return signedCsv(getDb(), `signet-images-${new Date().toISOString().slice(0, 10)}.csv`, HEADER, rows());
});
