import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { commandLoaders } from "@/cli/commands";
import { ROOT } from "@/tests/support/process";

describe("README CLI section", () => {
  it("lists every command of the CLI", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## CLI\n"), readme.indexOf("\n## ", readme.indexOf("## CLI\n") + 1));
    const listed = new Set([...section.matchAll(/^signet ([a-z][a-z-]*)/gm)].map((m) => m[1]));
    expect(Object.keys(commandLoaders).filter((name) => !listed.has(name))).toEqual([]);
    expect([...listed].filter((name) => !(name! in commandLoaders))).toEqual([]);
  });
});
