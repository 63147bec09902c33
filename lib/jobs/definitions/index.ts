import type { JobDefinition } from "@/lib/jobs/registry";
import { diagnosticsPing } from "@/lib/jobs/definitions/diagnostics";

/** Every job the worker runs. A job missing here is never processed, so tests check this list. */
export const allJobs: JobDefinition[] = [diagnosticsPing as unknown as JobDefinition];
