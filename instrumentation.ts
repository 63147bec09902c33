/** Next calls register() once per server start (Node.js runtime only does the work). */
export async function register() {
  // NEXT_RUNTIME is set by Next itself, per runtime, and is not configuration (lib/env.ts does not own it)
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { prepareAuthAtStart } = await import("@/lib/auth/startup");
    await prepareAuthAtStart();
  }
}
