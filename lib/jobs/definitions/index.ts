import type { JobDefinition } from "@/lib/jobs/registry";
import { diagnosticsPing } from "@/lib/jobs/definitions/diagnostics";
import { notifyDeliver, notifyTick } from "@/lib/jobs/definitions/notify";
import { coverageRefresh, imageCheck, reevaluateAll, scanStart, scanTick } from "@/lib/jobs/definitions/scan";
import { retentionSweep } from "@/lib/jobs/definitions/retention";
import { trustSnapshot } from "@/lib/jobs/definitions/trust";
import { tufRefresh } from "@/lib/jobs/definitions/tuf";

/** Every job the worker runs. A job missing here is never processed, so tests check this list. */
export const allJobs: JobDefinition[] = [diagnosticsPing, scanStart, imageCheck, scanTick, reevaluateAll, trustSnapshot, tufRefresh, notifyTick, notifyDeliver, coverageRefresh, retentionSweep] as unknown as JobDefinition[];
