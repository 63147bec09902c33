// Types of scripts/build-cli.mjs for the TypeScript that imports it (scripts/launch.ts, bench/scan.ts).
export const IMAGE_EXTERNAL: string[];
export function sourceKey(root: string): string;
/** Builds the bundle unless the current sources' bundle exists; returns its directory. */
export function buildCli(root: string, opts?: { quiet?: boolean; image?: boolean }): Promise<string>;
