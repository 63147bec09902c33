import type { Command } from "@/cli/commands/types";
import { audit } from "@/cli/commands/audit";
import { db } from "@/cli/commands/db";
import { jobs } from "@/cli/commands/jobs";

export type { Command } from "@/cli/commands/types";

/** Every `signet` command, in the order --help lists them. Add one line per new command module. */
export const commands: Command[] = [
  audit,
  db,
  jobs,
];
