import { coverageBase, toTarget, type CoverageBasis } from "@/lib/coverage/compute";

/**
 * Rollout progress toward a coverage target (the fleet's SIGNET_COVERAGE_TARGET, or a cluster's own from
 * SIGNET_CLUSTER_COVERAGE_TARGETS): reached, or how many more containers must be verified.
 */
export function TargetProgress({ figures, target, scope = "the target", testId = "rollout-progress" }: { figures: CoverageBasis; target: number; scope?: string; testId?: string }) {
  const progress = toTarget(figures, target);
  return (
    <p className="mt-2 text-sm text-slate-600 dark:text-slate-400" data-testid={testId}>
      {progress.reached
        ? `Target ${target}% reached.`
        : coverageBase(figures) === 0
          ? `Target ${target}%: no policy applies to a running container.`
          : `Toward ${scope} of ${target}%: ${progress.missing} more ${progress.missing === 1 ? "container" : "containers"} to verify.`}
    </p>
  );
}
