import { route } from "@/lib/api/route";
import { iterateImages } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { withSnapshot } from "@/lib/db/cursor";
import { imageListQuery } from "@/lib/dto/read";
import { signedExport, writeCsv } from "@/lib/exports/download";

export const dynamic = "force-dynamic";

const HEADER = ["registry", "repository", "digest", "verdict", "discovery", "running_containers", "signers", "last_seen"] as const;

/** The image list under the current filters (every page) as CSV: read from one snapshot page by page, written as read, signed with the export key. */
export const GET = route({ access: "viewer", query: imageListQuery }, async ({ query }) => {
  const db = getDb();
  return signedExport(db, { filename: `signet-images-${new Date().toISOString().slice(0, 10)}.csv`, contentType: "text/csv; charset=utf-8" }, (sink) =>
    withSnapshot(db, async (tx) => {
      await sink.reset();
      await writeCsv(
        sink,
        HEADER,
        (async function* () {
          for await (const r of iterateImages(tx, query)) {
            yield [r.registry, r.repository, r.digest, r.verdict ?? "", r.discovery, r.runningContainers, r.signers.join(" "), r.lastSeen];
          }
        })(),
      );
    }),
  );
});
