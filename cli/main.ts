// signet CLI: commands are small modules under cli/commands; each returns its exit code.
import { EnvError } from "@/lib/env";
import { commands } from "@/cli/commands";

function usage(): string {
  const width = Math.max(...commands.map((c) => c.usage.length));
  return [
    "signet — which running images are provably signed by someone you trust",
    "",
    "Usage: signet <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     show this help (or a command's help: signet <command> --help)",
    "  -v, --version  print the version",
    "",
    "Environment: DATABASE_URL (default: the embedded database of a running `npm start`), SIGNET_DATA_DIR, LOG_LEVEL.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(usage() + "\n");
    return name ? 0 : argv.length === 0 ? 0 : 0;
  }
  if (name === "-v" || name === "--version" || name === "version") {
    const { default: pkg } = await import("@/package.json", { with: { type: "json" } });
    process.stdout.write(`signet ${pkg.version}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`signet: unknown command "${name}"\n\n${usage()}\n`);
    return 64;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`Usage: signet ${command.usage}\n\n${command.summary}\n${command.help ? `\n${command.help}\n` : ""}`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof EnvError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`signet: ${message}\n`);
    process.exit(1);
  },
);
