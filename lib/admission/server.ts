import "server-only";
import fs from "node:fs";
import https from "node:https";
import type http from "node:http";
import tls from "node:tls";
import type { Logger } from "pino";
import { API_ERROR_STATUS, type ApiErrorCode } from "@/lib/api/errors";
import type { AdmissionAnswerer } from "@/lib/admission/answer";
import { authenticateCaller, callerAuthEnabled, parseTokenFile, type Caller, type CallerAuthConfig } from "@/lib/admission/caller-auth";
import { SourceLogGate, SourceRateLimiter, sourceKey, type RateLimit } from "@/lib/admission/per-source";
import type { AdmissionRecorder } from "@/lib/admission/record";
import { admissionResponse, admissionReviewSchema, digestPinPatch, newImages, reviewedObject } from "@/lib/admission/review";

/**
 * Signet's admission webhook over HTTPS (scripts/webhook.ts runs it in its own process):
 * POST /validate takes an AdmissionReview (admission.k8s.io/v1) of at most `maxBodyBytes`, answers
 * it with the same uid, and records the decision; POST /mutate (a MutatingWebhookConfiguration for
 * pods) admits every pod and pins the tags of images under enforce policies to the digests they name
 * now (`AdmissionAnswerer.pinDigests`), so that the validating decision is about what will run;
 * GET /healthz says it is up. The certificate and key
 * are read from files (a mounted Secret) and re-read when either changes — a TLS handshake after the
 * change gets the new certificate, connections already open keep theirs, nothing restarts. A new pair
 * that does not load (half-written, key and certificate not matching) is refused and the old one kept.
 * Anything that is not an AdmissionReview gets the API error envelope `{ error: { code, message } }`.
 *
 * Callers (docs/decisions/0018): with a client CA and/or a token file configured, a POST whose caller
 * does not authenticate (lib/admission/caller-auth) gets 401 before its body is read — nothing is
 * evaluated or recorded; refusals are counted and logged at most once a minute per source, never with
 * what was presented. The CA and token files are re-read on change like the certificate (a CA change
 * closes the connections verified under the previous CA, busy ones after their answer). With neither,
 * every review is evaluated as from an unauthenticated caller (its records say so) and at most
 * `unauthenticatedRateLimit` reviews a second per source address are evaluated; the rest get 429.
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
  /** PEM CA bundle the API server's client certificate must chain to (re-read on change). */
  clientCaFile?: string;
  /** File of accepted bearer tokens, one a line (re-read on change). */
  tokenFile?: string;
  /** Reviews evaluated per source address while no caller authentication is configured. */
  unauthenticatedRateLimit: RateLimit;
  /** At most one log line per source and this interval about refused callers (default 60 s). */
  refusalLogIntervalMs?: number;
}

export interface AdmissionServer {
  port: number;
  /** Whether callers must authenticate (a client CA or a token file is configured). */
  callerAuth: boolean;
  /** Requests refused so far: 401 (unauthenticated) and 429 (over the unauthenticated rate limit). */
  refused(): { unauthenticated: number; rateLimited: number };
  /** Re-reads the certificate and key (and client CA) now; false when they do not load (the old ones stay). */
  reloadCertificate(): boolean;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

function refuse(res: http.ServerResponse, code: ApiErrorCode, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(API_ERROR_STATUS[code], { "content-type": "application/json", connection: "close", ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}

interface ServingFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

function readServing(certFile: string, keyFile: string, clientCaFile: string | undefined): ServingFiles {
  const files: ServingFiles = { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), ...(clientCaFile ? { ca: fs.readFileSync(clientCaFile) } : {}) };
  if (files.ca && !files.ca.toString("utf8").includes("-----BEGIN CERTIFICATE-----")) throw new Error("the client CA file holds no PEM certificate");
  tls.createSecureContext(files); // throws on a pair (or CA) that does not load
  return files;
}

const sameFiles = (a: ServingFiles, b: ServingFiles) => a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca?.equals(b.ca ?? Buffer.alloc(0)) ?? !b.ca);

const REFUSAL_MESSAGE: Record<string, string> = {
  "no-client-certificate": "A client certificate is required (see the AdmissionConfiguration in docs/decisions/0018).",
  "untrusted-client-certificate": "The client certificate is not signed by the webhook's client CA.",
  "no-bearer-token": "A bearer token is required (see the AdmissionConfiguration in docs/decisions/0018).",
  "wrong-bearer-token": "The bearer token is not accepted.",
};

/**
 * A refusal sent before the body is read (401, 429, 413, a wrong path) lets the rest of the body be
 * read and thrown away, up to this many bytes, so the client (maybe still writing) reads the answer
 * instead of a broken pipe or a reset; beyond it the connection is cut. The server's requestTimeout
 * bounds the time either way, and nothing is kept in memory.
 */
const UNREAD_DRAIN_BYTES = 16 * 1024 * 1024;

function refuseUnread(req: http.IncomingMessage, res: http.ServerResponse, code: ApiErrorCode, message: string, headers: Record<string, string> = {}, alreadyRead = 0): void {
  const declared = Number(req.headers["content-length"]);
  const drainable = !Number.isFinite(declared) || declared - alreadyRead <= UNREAD_DRAIN_BYTES;
  refuse(res, code, message, drainable ? { ...headers, connection: "keep-alive" } : headers);
  if (!drainable) return void req.destroy();
  let drained = 0;
  req.on("data", (c: Buffer) => {
    drained += c.length;
    if (drained > UNREAD_DRAIN_BYTES) req.destroy();
  });
  req.resume();
}

/** The body, or null after answering 413 / 400 itself. */
function readBody(req: http.IncomingMessage, res: http.ServerResponse, max: number): Promise<Buffer | null> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && !(Number(declared) <= max)) {
    refuseUnread(req, res, "payload_too_large", `The body is larger than ${max} bytes.`);
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        done = true;
        req.off("data", onData);
        chunks.length = 0;
        refuseUnread(req, res, "payload_too_large", `The body is larger than ${max} bytes.`, {}, size);
        return resolve(null);
      }
      chunks.push(c);
    };
    req.on("data", onData);
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
  let current = readServing(opts.certFile, opts.keyFile, opts.clientCaFile);
  let tokens: readonly string[] | undefined = opts.tokenFile ? parseTokenFile(fs.readFileSync(opts.tokenFile, "utf8")) : undefined;
  const auth: CallerAuthConfig = { clientCertificate: opts.clientCaFile !== undefined, tokens: () => tokens };
  const authOn = callerAuthEnabled(auth);
  const limiter = new SourceRateLimiter(opts.unauthenticatedRateLimit);
  const logInterval = opts.refusalLogIntervalMs ?? 60_000;
  const unauthenticated = new SourceLogGate(logInterval);
  const rateLimited = new SourceLogGate(logInterval);

  /** The caller of a POST /validate, or null after answering 401 / 429 itself (the body read only to be discarded). */
  const admitCaller = (req: http.IncomingMessage, res: http.ServerResponse): Caller | null => {
    const source = sourceKey(req.socket.remoteAddress);
    if (authOn) {
      const r = authenticateCaller(req, auth, source);
      if (r.ok) return r.caller;
      const line = unauthenticated.note(source);
      if (line) log.warn({ source, reason: r.reason, refused: line.count }, "admission request refused: the caller did not authenticate (401)");
      refuseUnread(req, res, "unauthenticated", REFUSAL_MESSAGE[r.reason] ?? "Unauthenticated.", tokens !== undefined ? { "www-authenticate": 'Bearer realm="signet-webhook"' } : {});
      return null;
    }
    const taken = limiter.take(source);
    if (taken.ok) return { authenticated: false, via: [], subject: null, source };
    const line = rateLimited.note(source);
    if (line) log.warn({ source, refused: line.count, ...opts.unauthenticatedRateLimit }, "admission request refused: over the rate limit of unauthenticated callers (429)");
    refuseUnread(req, res, "rate_limited", "Too many admission reviews from this address; configure caller authentication (docs/decisions/0018).", { "retry-after": String(taken.retryAfterSeconds) });
    return null;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === "/healthz" && req.method === "GET") {
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end("ok");
    }
    if (path !== "/validate" && path !== "/mutate") return refuseUnread(req, res, "not_found", "Only POST /validate and /mutate (AdmissionReview) and GET /healthz are served.");
    if (req.method !== "POST") return refuseUnread(req, res, "bad_request", `POST an AdmissionReview to ${path}.`);
    const caller = admitCaller(req, res);
    if (!caller) return;
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
    if (path === "/mutate") {
      // pods only (the object the kubelet pulls from; workloads keep the tags their owners wrote), and
      // never a refusal: deciding is the validating webhook's, which runs after every mutation
      if (object.kind !== "pod-spec" || object.objectKind !== "Pod") return send({ allowed: true });
      try {
        const pinnable = newImages(request, object.containers);
        const patch = digestPinPatch(pinnable, await answerer.pinDigests(object.namespace, pinnable));
        if (patch.length) log.debug({ uid: request.uid, name: object.name, namespace: object.namespace, pinned: patch.length }, "admission: image tags pinned to digests");
        return send({ allowed: true, patch });
      } catch (err) {
        log.warn({ err: (err as Error).message, uid: request.uid }, "admission: tags not pinned (the validating webhook resolves them again)");
        return send({ allowed: true });
      }
    }
    if (object.kind === "skip") return send({ allowed: true });
    if (object.kind === "unchanged") {
      log.debug({ uid: request.uid, kind: object.objectKind, name: request.name, namespace: request.namespace }, "admission: UPDATE runs no new image; admitted without evaluation");
      return send({ allowed: true });
    }
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
        caller,
        at: new Date(),
      });
      log.debug({ uid: request.uid, kind: object.objectKind, name: object.name, namespace: object.namespace, decision: answer.decision, ms: Math.round(answer.elapsedMs) }, "admission answered");
    } catch (err) {
      log.error({ err, uid: request.uid }, "admission answer failed");
      const why = `Signet could not evaluate the request (${(err as Error).message.slice(0, 200)}); failure policy ${opts.failurePolicy}`;
      send(opts.failurePolicy === "Fail" ? { allowed: false, code: 500, message: why } : { allowed: true, warnings: [`Signet: ${why}; admitted`] });
    }
  };

  // a client certificate is asked for but not required by the handshake: /healthz (the kubelet's probes)
  // stays open, and a caller without one gets a 401 it can read instead of a failed handshake
  const tlsOptions = (f: ServingFiles): tls.SecureContextOptions => ({ ...f, minVersion: "TLSv1.2" });
  // A client certificate is verified once, at the handshake, against the CA then in force. A changed CA
  // therefore ends the connections verified under the previous one — idle ones at once, busy ones once
  // their current answer is sent (`connection: close`) — so that every request after the change is
  // judged by the CA now in force: a caller keeping its connection busy (as the API server does) would
  // otherwise keep the trust of a CA taken out of the file for as long as it liked.
  let caGeneration = 0;
  const verifiedUnder = new WeakMap<object, number>();
  const answering = new Set<http.ServerResponse>();
  const closeAfterAnswer = (res: http.ServerResponse) => {
    if (!res.headersSent) res.setHeader("connection", "close");
  };
  const server = https.createServer({ ...tlsOptions(current), ...(auth.clientCertificate ? { requestCert: true, rejectUnauthorized: false } : {}) }, (req, res) => {
    answering.add(res);
    res.once("close", () => answering.delete(res));
    if (auth.clientCertificate && verifiedUnder.get(req.socket) !== caGeneration) closeAfterAnswer(res);
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, "admission request failed");
      refuse(res, "internal", "Internal error.");
    });
  });
  server.on("secureConnection", (socket) => verifiedUnder.set(socket, caGeneration));
  // a client that never finishes its body does not hold a socket for long
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  const reloadCertificate = (): boolean => {
    try {
      const next = readServing(opts.certFile, opts.keyFile, opts.clientCaFile);
      if (sameFiles(next, current)) return true;
      const caChanged = !(next.ca && current.ca ? next.ca.equals(current.ca) : next.ca === current.ca);
      server.setSecureContext(tlsOptions(next));
      current = next;
      if (caChanged) {
        caGeneration++;
        server.closeIdleConnections();
        for (const res of answering) closeAfterAnswer(res);
      }
      log.info({ certFile: opts.certFile, clientCaFile: opts.clientCaFile, clientCaChanged: caChanged }, "webhook certificate (and client CA) reloaded");
      return true;
    } catch (err) {
      log.error({ err: (err as Error).message, certFile: opts.certFile, clientCaFile: opts.clientCaFile }, "webhook certificate not reloaded: the new certificate, key or client CA do not load; keeping the previous ones");
      return false;
    }
  };
  const reloadTokens = (): void => {
    if (!opts.tokenFile) return;
    try {
      const next = parseTokenFile(fs.readFileSync(opts.tokenFile, "utf8"));
      if (tokens && next.length === tokens.length && next.every((t, i) => t === tokens![i])) return;
      tokens = next;
      log.info({ tokenFile: opts.tokenFile, tokens: next.length }, "webhook caller tokens reloaded");
    } catch (err) {
      // the message names the problem, never a token
      log.error({ err: (err as Error).message, tokenFile: opts.tokenFile }, "webhook caller tokens not reloaded; keeping the previous ones");
    }
  };
  // stat polling follows the symlinks a Secret volume swaps on update (inotify on the files would not)
  const interval = opts.certCheckMs ?? 2000;
  const onChange = () => void reloadCertificate();
  const watched = [opts.certFile, opts.keyFile, ...(opts.clientCaFile ? [opts.clientCaFile] : [])];
  for (const f of watched) fs.watchFile(f, { interval, persistent: false }, onChange);
  if (opts.tokenFile) fs.watchFile(opts.tokenFile, { interval, persistent: false }, reloadTokens);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : opts.port,
    callerAuth: authOn,
    refused: () => ({ unauthenticated: unauthenticated.total, rateLimited: rateLimited.total }),
    reloadCertificate,
    async close() {
      for (const f of watched) fs.unwatchFile(f, onChange);
      if (opts.tokenFile) fs.unwatchFile(opts.tokenFile, reloadTokens);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5000).unref();
      await closed;
    },
  };
}
