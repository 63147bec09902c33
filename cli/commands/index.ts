import type { Command } from "@/cli/commands/types";
import { audit } from "@/cli/commands/audit";
import { db } from "@/cli/commands/db";
import { discover } from "@/cli/commands/discover";
import { inventory } from "@/cli/commands/inventory";
import { jobs } from "@/cli/commands/jobs";
import { keys } from "@/cli/commands/keys";
import { rejections } from "@/cli/commands/rejections";
import { revoke } from "@/cli/commands/revoke";
import { scan } from "@/cli/commands/scan";
import { users } from "@/cli/commands/users";
import { verify } from "@/cli/commands/verify";
import { verifyBundleCommand } from "@/cli/commands/verify-bundle";

export type { Command } from "@/cli/commands/types";

/** Every `signet` command, in the order --help lists them. Add one line per new command module. */
export const commands: Command[] = [
  audit,
  db,
  discover,
  inventory,
  jobs,
  keys,
  rejections,
  revoke,
  scan,
  users,
  verify,
  verifyBundleCommand,
];
