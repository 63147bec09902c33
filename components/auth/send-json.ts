/** A same-origin JSON request from a client component; returns the status and the parsed body. */
export async function sendJson(url: string, method: string, body?: unknown): Promise<{ ok: boolean; status: number; data: unknown }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return { ok: res.ok, status: res.status, data };
}

/** The message of our error envelope, or of better-auth's `{ message }`, or a fallback. */
export function errorMessage(data: unknown, fallback: string): string {
  if (data && typeof data === "object") {
    const d = data as { error?: { message?: unknown }; message?: unknown };
    if (typeof d.error?.message === "string") return d.error.message;
    if (typeof d.message === "string") return d.message;
  }
  return fallback;
}
