import type { JobDefinition } from "@/lib/jobs/registry";
import { diagnosticsPing } from "@/lib/jobs/definitions/diagnostics";
import { imageCheck, reevaluateAll, scanStart, scanTick } from "@/lib/jobs/definitions/scan";

/** Every job the worker runs. A job missing here is never processed, so tests check this list. */
export const allJobs: JobDefinition[] = [diagnosticsPing, scanStart, imageCheck, scanTick, reevaluateAll] as unknown as JobDefinition[];
