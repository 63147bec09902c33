import os from "node:os";
import type { Command } from "@/cli/commands/types";
import { roleSchema } from "@/lib/auth/roles";
import { issueSetupLink } from "@/lib/auth/setup";
import { createLocalUser, listUsers, setUserRole } from "@/lib/auth/users";
import { withDatabase } from "@/cli/commands/database";
import { getEnv } from "@/lib/env";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Reads a password: without echo from a terminal (asked twice), else the first line of stdin. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = "";
    for await (const chunk of stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? "";
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolve, reject) => {
      process.stderr.write(prompt);
      let value = "";
      stdin.setRawMode(true);
      stdin.resume();
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            stdin.setRawMode(false);
            stdin.pause();
            process.stderr.write("\n");
            return resolve(value);
          }
          if (ch === "\u0003") {
            stdin.setRawMode(false);
            return reject(new Error("cancelled"));
          }
          value = ch === "\u007f" ? value.slice(0, -1) : value + ch;
        }
      };
      stdin.on("data", onData);
    });
  const first = await ask("Password (12+ characters): ");
  if ((await ask("Password again: ")) !== first) throw new Error("the passwords differ");
  return first;
}

export const users: Command = {
  name: "users",
  usage: "users <create-admin|setup-link|list|set-role>",
  summary: "create the first administrator, print a setup link, list users or change a role",
  help: [
    "signet users create-admin --email <email> [--name <name>]   password from the terminal, or the first line of stdin",
    "signet users setup-link                                     a new one-time link to create the first administrator in the browser",
    "signet users list",
    "signet users set-role <email> <viewer|auditor|admin>",
    "Changes are written to the audit log with the actor cli:<your login name>.",
  ].join("\n"),
  async run(args) {
    const actor = `cli:${os.userInfo().username}`;
    return withDatabase("users", async (db) => {
      switch (args[0]) {
        case "create-admin": {
          const email = option(args, "--email");
          if (!email) {
            process.stderr.write("signet users create-admin: --email is required\n");
            return 64;
          }
          const user = await createLocalUser(db, { email, name: option(args, "--name") ?? email.split("@")[0] ?? email, password: await readPassword(), role: "admin" }, actor);
          process.stdout.write(`created administrator ${user.email}\n`);
          return 0;
        }
        case "setup-link": {
          const link = await issueSetupLink(db, getEnv(), { rotate: true });
          if (!link) {
            process.stderr.write("signet users setup-link: users exist already; an administrator adds more on the Users page\n");
            return 1;
          }
          process.stdout.write(`${link}\n`);
          return 0;
        }
        case "list": {
          for (const u of await listUsers(db)) process.stdout.write(`${u.email}\t${u.role}\t${u.signIn.join(",")}\t${u.name}\n`);
          return 0;
        }
        case "set-role": {
          const role = roleSchema.safeParse(args[2]);
          const target = args[1] ? await db.user.findUnique({ where: { email: args[1].toLowerCase() } }) : null;
          if (!role.success || !target) {
            process.stderr.write("signet users set-role: expected an existing user's email and one of viewer, auditor, admin\n");
            return 64;
          }
          const user = await setUserRole(db, target.id, role.data, actor);
          process.stdout.write(`${user.email} is now ${user.role}\n`);
          return 0;
        }
        default:
          process.stderr.write("signet users: expected create-admin, setup-link, list or set-role\n");
          return 64;
      }
    });
  },
};
