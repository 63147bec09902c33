// signet CLI: commands are small modules under cli/commands, loaded on demand; each returns its exit code.
// Exit codes (README "Command line"): 0 success / verified; 1 a negative answer (failed, unsigned, below a
// threshold, pending migrations); 2 error, including any crash (never 1, which a pipeline reads as "not
// verified"); 64 usage.
import { commandLoaders, loadCommands, scansClustersHere } from "@/cli/commands";
import pkg from "@/package.json" with { type: "json" };

export const EXIT_ERROR = 2;
export const EXIT_USAGE = 64;

async function usage(): Promise<string> {
  const commands = await loadCommands();
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
    "Exit codes: 0 success (verified); 1 a negative answer (failed, unsigned, below a threshold); 2 error or crash; 64 usage.",
    "Environment: DATABASE_URL (default: the embedded database of a running `npm start`), SIGNET_DATA_DIR, LOG_LEVEL.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write((await usage()) + "\n");
    return 0;
  }
  if (name === "-v" || name === "--version" || name === "version") {
    process.stdout.write(`signet ${pkg.version}\n`);
    return 0;
  }
  const load = Object.hasOwn(commandLoaders, name) ? commandLoaders[name] : undefined;
  if (!load) {
    process.stderr.write(`signet: unknown command "${name}"\n\n${await usage()}\n`);
    return EXIT_USAGE;
  }
  const help = rest.includes("--help") || rest.includes("-h");
  // A scan of --kubeconfig / --context clusters runs here: as the worker does (heap cap, malloc
  // arenas), which only a new process can (lib/scan/runtime.ts) unless this one was started so.
  // Re-run before loading the command, so that this process stays small while it waits.
  if (!help && scansClustersHere(name, rest)) {
    const [{ getEnv }, { rerunUnderScanRuntime, runsUnderScanRuntime }] = await Promise.all([import("@/lib/env"), import("@/lib/scan/runtime")]);
    if (!runsUnderScanRuntime(getEnv())) return rerunUnderScanRuntime(getEnv().SIGNET_WORKER_HEAP_MB);
  }
  const command = await load();
  if (help) {
    process.stdout.write(`Usage: signet ${command.usage}\n\n${command.summary}\n${command.help ? `\n${command.help}\n` : ""}`);
    return 0;
  }
  return command.run(rest);
}

function crash(err: unknown): never {
  // EnvError's message lists every invalid variable; anything else is reported by its message only
  process.stderr.write(`signet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT_ERROR);
}

process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);
main(process.argv.slice(2)).then((code) => process.exit(code), crash);
