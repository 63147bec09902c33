import { TextLink } from "@/components/ui";
import { SETTLED_ITEMS } from "@/lib/dto/drilldown";
import type { ScanDto } from "@/lib/dto/read";
import { links } from "@/lib/ui/links";

/** Before the verify stage a scan's done / total count the clusters listed; from it on, its images (its items). */
export const countsImages = (s: Pick<ScanDto, "stage">): boolean => s.stage === "verify" || s.stage === "done";

/**
 * A scan's progress, "done / total images", each figure opening the scan's items it counts (`done`:
 * the settled ones, done or error; `total`: all of them); before the verify stage, clusters listed; once
 * the items were removed (retention, ADR 0028), the figures without a link.
 */
export function ScanCounts({ scan, testId }: { scan: Pick<ScanDto, "id" | "stage" | "done" | "total"> & { itemsRemovedAt?: string | null }; testId?: string }) {
  if (!countsImages(scan))
    return (
      <span className="tabular-nums" data-testid={testId}>
        {scan.done} / {scan.total} clusters
      </span>
    );
  // its items were removed after the keep time (lib/retention): the figures stay, no list is behind them
  if (scan.itemsRemovedAt)
    return (
      <span className="tabular-nums" data-testid={testId} title="The items of this scan were removed after the keep time (SIGNET_SCAN_ITEMS_KEEP_DAYS)">
        {scan.done} / {scan.total} images
      </span>
    );
  return (
    <span className="tabular-nums" data-testid={testId}>
      <TextLink href={links.scanItems(scan.id, { status: SETTLED_ITEMS })} testId="scan-done-link">
        {scan.done}
      </TextLink>{" "}
      /{" "}
      <TextLink href={links.scanItems(scan.id)} testId="scan-total-link">
        {scan.total}
      </TextLink>{" "}
      images
    </span>
  );
}
