import "server-only";
import fs from "node:fs";
import https from "node:https";
import type http from "node:http";
import tls from "node:tls";
import type { Logger } from "pino";
import type { ApiErrorCode } from "@/lib/api/errors";
import type { AdmissionAnswerer } from "@/lib/admission/answer";
import type { AdmissionRecorder } from "@/lib/admission/record";
import { admissionResponse, admissionReviewSchema, reviewedObject } from "@/lib/admission/review";

/**
 * Signet's validating admission webhook over HTTPS (scripts/webhook.ts runs it in its own process):
 * POST /validate takes an AdmissionReview (admission.k8s.io/v1) of at most `maxBodyBytes`, answers
 * it with the same uid, and records the decision; GET /healthz says it is up. The certificate and key
 * are read from files (a mounted Secret) and re-read when either changes — a TLS handshake after the
 * change gets the new certificate, connections already open keep theirs, nothing restarts. A new pair
 * that does not load (half-written, key and certificate not matching) is refused and the old one kept.
 * Anything that is not an AdmissionReview gets the API error envelope `{ error: { code, message } }`.
 */
export interface AdmissionServerOptions {
  answerer: AdmissionAnswerer;
  recorder: AdmissionRecorder;
  certFile: string;
  keyFile: string;
  host: string;
  port: number;
  log: Logger;
  /** Larger bodies are refused with 413 (default 3 MiB; the API server sends at most 3 MiB objects). */
  maxBodyBytes?: number;
  /** How often the certificate files are checked for a change (default 2 s). */
  certCheckMs?: number;
  /** What an answer that failed unexpectedly says (the budget's failure policy). */
  failurePolicy: "Fail" | "Ignore";
}

export interface AdmissionServer {
  port: number;
  /** Re-reads the certificate and key now; false when the new pair does not load (the old one stays). */
  reloadCertificate(): boolean;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

const STATUS: Partial<Record<ApiErrorCode, number>> = { bad_request: 400, not_found: 404, payload_too_large: 413, internal: 500 };

function refuse(res: http.ServerResponse, code: ApiErrorCode, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(STATUS[code] ?? 400, { "content-type": "application/json", connection: "close" });
  res.end(JSON.stringify({ error: { code, message } }));
}

function readPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const pair = { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
  tls.createSecureContext(pair); // throws on a pair that does not load
  return pair;
}

/** The body, or null after answering 413 / 400 itself. */
function readBody(req: http.IncomingMessage, res: http.ServerResponse, max: number): Promise<Buffer | null> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && !(Number(declared) <= max)) {
    refuse(res, "payload_too_large", `The body is larger than ${max} bytes.`);
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        refuse(res, "payload_too_large", `The body is larger than ${max} bytes.`);
        req.resume();
        return resolve(null);
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on("error", () => {
      if (!done) {
        done = true;
        resolve(null);
      }
    });
  });
}

export async function serveAdmission(opts: AdmissionServerOptions): Promise<AdmissionServer> {
  const { answerer, recorder, log } = opts;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let current = readPair(opts.certFile, opts.keyFile);

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === "/healthz" && req.method === "GET") {
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end("ok");
    }
    if (path !== "/validate") return refuse(res, "not_found", "Only POST /validate (AdmissionReview) and GET /healthz are served.");
    if (req.method !== "POST") return refuse(res, "bad_request", "POST an AdmissionReview to /validate.");
    const body = await readBody(req, res, maxBody);
    if (!body) return;
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      return refuse(res, "bad_request", "The body is not JSON.");
    }
    const parsed = admissionReviewSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse(res, "bad_request", `Not an admission.k8s.io/v1 AdmissionReview: ${issue ? `${issue.path.join(".") || "(body)"}: ${issue.message}` : "invalid"}.`);
    }
    const request = parsed.data.request;
    const send = (answer: Parameters<typeof admissionResponse>[1]) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(admissionResponse(request.uid, answer)));
    };
    const object = reviewedObject(request);
    if (object.kind === "skip") return send({ allowed: true });
    if (object.kind === "invalid") return send({ allowed: false, code: 400, message: `Signet cannot evaluate this request: ${object.reason}` });
    try {
      const answer = await answerer.answer(object.namespace, object.containers);
      send({ allowed: answer.allowed, message: answer.message, warnings: answer.warnings });
      recorder.record({
        uid: request.uid,
        operation: request.operation,
        kind: object.objectKind,
        name: object.name,
        namespace: object.namespace,
        user: request.userInfo?.username ?? null,
        dryRun: request.dryRun === true,
        answer,
        at: new Date(),
      });
      log.debug({ uid: request.uid, kind: object.objectKind, name: object.name, namespace: object.namespace, decision: answer.decision, ms: Math.round(answer.elapsedMs) }, "admission answered");
    } catch (err) {
      log.error({ err, uid: request.uid }, "admission answer failed");
      const why = `Signet could not evaluate the request (${(err as Error).message.slice(0, 200)}); failure policy ${opts.failurePolicy}`;
      send(opts.failurePolicy === "Fail" ? { allowed: false, code: 500, message: why } : { allowed: true, warnings: [`Signet: ${why}; admitted`] });
    }
  };

  const server = https.createServer({ ...current, minVersion: "TLSv1.2" }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, "admission request failed");
      refuse(res, "internal", "Internal error.");
    });
  });
  // a client that never finishes its body does not hold a socket for long
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  const reloadCertificate = (): boolean => {
    try {
      const next = readPair(opts.certFile, opts.keyFile);
      if (next.cert.equals(current.cert) && next.key.equals(current.key)) return true;
      server.setSecureContext({ ...next, minVersion: "TLSv1.2" });
      current = next;
      log.info({ certFile: opts.certFile }, "webhook certificate reloaded");
      return true;
    } catch (err) {
      log.error({ err: (err as Error).message, certFile: opts.certFile }, "webhook certificate not reloaded: the new certificate and key do not load; keeping the previous ones");
      return false;
    }
  };
  // stat polling follows the symlinks a Secret volume swaps on update (inotify on the files would not)
  const interval = opts.certCheckMs ?? 2000;
  const onChange = () => void reloadCertificate();
  fs.watchFile(opts.certFile, { interval, persistent: false }, onChange);
  fs.watchFile(opts.keyFile, { interval, persistent: false }, onChange);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : opts.port,
    reloadCertificate,
    async close() {
      fs.unwatchFile(opts.certFile, onChange);
      fs.unwatchFile(opts.keyFile, onChange);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5000).unref();
      await closed;
    },
  };
}
