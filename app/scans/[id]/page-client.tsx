"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { FilterBar, FilterSelect, type FilterOption } from "@/components/filters";
import { SETTLED_ITEMS, type ScanItemStatusDto } from "@/lib/dto/drilldown";
import { links } from "@/lib/ui/links";

const STATUS_OPTIONS: FilterOption[] = [
  { value: "pending,done,error", label: "all (total)" },
  { value: SETTLED_ITEMS.join(","), label: "settled (done or error)" },
  { value: "pending", label: "pending" },
  { value: "done", label: "done" },
  { value: "error", label: "error" },
];

/** The scan items list's filter (the one filter bar, components/filters): the items' status; each choice opens that list. */
export function ScanItemFilters({ scanId, status }: { scanId: string; status: readonly ScanItemStatusDto[] }) {
  const router = useRouter();
  const value = status.join(",");
  const options = STATUS_OPTIONS.some((o) => typeof o !== "string" && o.value === value) ? STATUS_OPTIONS : [...STATUS_OPTIONS, value];
  return (
    <FilterBar label="Filter scan items">
      <FilterSelect
        label="Item status"
        name="status"
        allLabel={null}
        value={value}
        options={options}
        onChange={(v) => router.push(links.scanItems(scanId, { status: (v ?? value).split(",") as ScanItemStatusDto[] }))}
      />
    </FilterBar>
  );
}

/** While the scan runs, the page (figures and rows, read in one snapshot) is read again every few seconds. */
export function RefreshWhileRunning({ running }: { running: boolean }) {
  const router = useRouter();
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => router.refresh(), 3000);
    return () => clearInterval(t);
  }, [running, router]);
  return null;
}
