"use client";

import { useRouter } from "next/navigation";
import { FilterBar, FilterSelect, type FilterOption } from "@/components/filters";
import { BUCKETS } from "@/lib/coverage/compute";
import { IN_SCOPE_VERDICTS, NOT_VERIFIED_IN_SCOPE, type ListedBucket, type PolicyListVerdict } from "@/lib/dto/drilldown";
import { links } from "@/lib/ui/links";

const BUCKET_OPTIONS: FilterOption[] = [
  { value: BUCKETS.join(","), label: "all running" },
  ...BUCKETS.map((b) => ({ value: b, label: b })),
  { value: "failed,unsigned,error", label: "failed · unsigned · error" },
  { value: "stale,error", label: "stale / unknown" },
];
const VERDICT_OPTIONS: FilterOption[] = [
  { value: "verified,failed,unsigned,error", label: "evaluated (any but unmatched)" },
  { value: "verified", label: "verified" },
  { value: "failed,unsigned,error", label: "not verified" },
  ...(["failed", "unsigned", "error", "unmatched"] as const).map((v) => ({ value: v, label: v })),
  { value: "pending", label: "no verdict yet (in scope)" },
  { value: IN_SCOPE_VERDICTS.join(","), label: "in scope (evaluated or no verdict yet)" },
  { value: NOT_VERIFIED_IN_SCOPE.join(","), label: "not verified, no verdict yet included" },
];

/**
 * The containers list's filter (the one filter bar, components/filters): the buckets of a list by
 * bucket, the verdicts of a list by policy, or the authority of a list by signer; each choice opens
 * that list (a server-rendered page).
 */
export function ContainerFilters({
  scope,
  bucket,
  policy,
  signer,
}: {
  scope: { cluster?: string; namespace?: string };
  bucket?: readonly ListedBucket[];
  policy?: { id: string; verdict: readonly PolicyListVerdict[] };
  /** A list by signer: its authority's ref and every authority's (ref, display name). */
  signer?: { ref: string; options: FilterOption[] };
}) {
  const router = useRouter();
  const withValue = (options: FilterOption[], value: string) =>
    options.some((o) => (typeof o === "string" ? o : o.value) === value) ? options : [...options, value];
  if (signer) {
    return (
      <FilterBar label="Filter containers">
        <FilterSelect
          label="Verified through"
          name="signer"
          allLabel={null}
          value={signer.ref}
          options={withValue(signer.options, signer.ref)}
          onChange={(v) => router.push(links.signerContainers(v ?? signer.ref, scope))}
        />
      </FilterBar>
    );
  }
  if (policy) {
    const value = policy.verdict.join(",");
    return (
      <FilterBar label="Filter containers">
        <FilterSelect
          label="Verdict under the policy"
          name="verdict"
          allLabel={null}
          value={value}
          options={withValue(VERDICT_OPTIONS, value)}
          onChange={(v) => router.push(links.policyContainers(policy.id, { ...scope, verdict: (v ?? value).split(",") as PolicyListVerdict[] }))}
        />
      </FilterBar>
    );
  }
  const value = (bucket ?? []).join(",");
  return (
    <FilterBar label="Filter containers">
      <FilterSelect
        label="Coverage bucket"
        name="bucket"
        allLabel={null}
        value={value}
        options={withValue(BUCKET_OPTIONS, value)}
        onChange={(v) => router.push(links.containers({ ...scope, bucket: (v ?? value).split(",") as ListedBucket[] }))}
      />
    </FilterBar>
  );
}
