import path from "node:path";
import { defineConfig } from "prisma/config";

// Offline migrations (see docs/decisions/0002-prisma-offline.md): Prisma's native schema-engine binary
// comes from a CDN this environment cannot reach, so the CLI runs a stdio shim over the WebAssembly
// schema engine instead. Setting it here covers every prisma command, since the config loads first.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(__dirname, "scripts/prisma-wasm/schema-engine.mjs");
process.env.CHECKPOINT_DISABLE ??= "1";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  // Not env("DATABASE_URL"): that throws when unset, which breaks `prisma generate` at install time.
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
