import { z } from "zod";

/**
 * AdmissionReview (admission.k8s.io/v1) as Signet's validating webhook reads it (pure): the request
 * is validated with zod, and the pod spec of the object under review is taken from where its kind
 * keeps it (a Pod's spec, a workload's pod template, a CronJob's job template). Only what a decision
 * needs is read; everything else in the object passes unvalidated.
 */

const name = z.string().max(253);

const container = z.object({ name: z.string().max(253), image: z.string().max(4096).optional() });
const podSpec = z.object({
  containers: z.array(container).max(256),
  initContainers: z.array(container).max(256).optional(),
  ephemeralContainers: z.array(container).max(256).optional(),
});

export const admissionReviewSchema = z.object({
  apiVersion: z.literal("admission.k8s.io/v1"),
  kind: z.literal("AdmissionReview"),
  request: z.object({
    uid: z.string().min(1).max(128),
    kind: z.object({ group: z.string().max(253), version: z.string().max(63), kind: z.string().max(253) }),
    resource: z.object({ group: z.string().max(253), version: z.string().max(63), resource: z.string().max(253) }).optional(),
    subResource: z.string().max(253).optional(),
    name: z.string().max(253).optional(),
    namespace: z.string().max(253).optional(),
    operation: z.enum(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
    userInfo: z.object({ username: z.string().max(1024).optional() }).optional(),
    object: z.unknown().optional(),
    /** The object before an UPDATE. */
    oldObject: z.unknown().optional(),
    dryRun: z.boolean().optional(),
  }),
});
export type AdmissionReview = z.infer<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview["request"];

/** The kinds whose pods Signet evaluates, and where each keeps its pod spec. */
const POD_SPEC_PATH: Record<string, readonly string[]> = {
  "/Pod": ["spec"],
  "apps/Deployment": ["spec", "template", "spec"],
  "apps/StatefulSet": ["spec", "template", "spec"],
  "apps/DaemonSet": ["spec", "template", "spec"],
  "apps/ReplicaSet": ["spec", "template", "spec"],
  "batch/Job": ["spec", "template", "spec"],
  "batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

export const ADMISSION_KINDS = Object.keys(POD_SPEC_PATH).map((k) => {
  const [group, kind] = k.split("/");
  return { group: group!, kind: kind! };
});

/** One container image of the object under review. */
export interface ReviewedContainer {
  name: string;
  kind: "init" | "app" | "ephemeral";
  image: string;
  /** JSON pointer (RFC 6901) of the container's `image` in the object under review. */
  path: string;
}

export type ReviewedObject =
  /** Not something Signet evaluates (another kind, a DELETE, a subresource other than ephemeralcontainers). */
  | { kind: "skip" }
  /** An UPDATE that runs no image the object did not run before (a scale, a label, a rollout restart): admitted as it stands. */
  | { kind: "unchanged"; objectKind: string }
  | { kind: "invalid"; reason: string }
  | { kind: "pod-spec"; objectKind: string; name: string; namespace: string; containers: ReviewedContainer[] };

const metadata = z.object({ name: name.optional(), generateName: name.optional(), namespace: name.optional() }).optional();

function podSpecOf(object: unknown, path: readonly string[]) {
  let spec: unknown = object;
  for (const p of path) spec = typeof spec === "object" && spec !== null ? (spec as Record<string, unknown>)[p] : undefined;
  return podSpec.safeParse(spec);
}

const imagesOf = (spec: z.infer<typeof podSpec>) =>
  [...spec.containers, ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])].flatMap((c) => (c.image === undefined ? [] : [c.image]));

/**
 * The containers of the object under review, or why there are none to evaluate. An UPDATE whose
 * object runs only images its oldObject already ran (compared as written, a tag with its tag) is
 * `unchanged`: the images were evaluated when they came in, and a scale or a label change is not
 * refused because an image has lost its signature since (the scan and the drift view report that).
 */
export function reviewedObject(req: AdmissionRequest): ReviewedObject {
  const key = `${req.kind.group}/${req.kind.kind}`;
  const path = POD_SPEC_PATH[key];
  if (!path || (req.operation !== "CREATE" && req.operation !== "UPDATE")) return { kind: "skip" };
  // pods/ephemeralcontainers (kubectl debug) carries the whole Pod; pods/status and the like change no image
  if (req.subResource && !(key === "/Pod" && req.subResource === "ephemeralcontainers")) return { kind: "skip" };
  if (typeof req.object !== "object" || req.object === null) return { kind: "invalid", reason: "the request carries no object" };
  const parsed = podSpecOf(req.object, path);
  if (!parsed.success) return { kind: "invalid", reason: `the ${req.kind.kind} has no readable pod spec at ${path.join(".")}` };
  if (req.operation === "UPDATE" && typeof req.oldObject === "object" && req.oldObject !== null) {
    const old = podSpecOf(req.oldObject, path);
    if (old.success) {
      const before = new Set(imagesOf(old.data));
      if (imagesOf(parsed.data).every((i) => before.has(i))) return { kind: "unchanged", objectKind: req.kind.kind };
    }
  }
  const md = metadata.safeParse((req.object as Record<string, unknown>).metadata);
  const objName = req.name || (md.success ? (md.data?.name ?? md.data?.generateName) : undefined) || "(unnamed)";
  const namespace = req.namespace || (md.success ? md.data?.namespace : undefined) || "default";
  const containers: ReviewedContainer[] = [];
  const add = (list: z.infer<typeof container>[] | undefined, kind: ReviewedContainer["kind"], field: string) => {
    (list ?? []).forEach((c, i) => {
      // an image-less container is refused by the API server's own validation; nothing to verify
      if (c.image !== undefined) containers.push({ name: c.name, kind, image: c.image, path: `/${[...path, field, String(i), "image"].join("/")}` });
    });
  };
  add(parsed.data.initContainers, "init", "initContainers");
  add(parsed.data.containers, "app", "containers");
  add(parsed.data.ephemeralContainers, "ephemeral", "ephemeralContainers");
  return { kind: "pod-spec", objectKind: req.kind.kind, name: objName, namespace, containers };
}

/** One JSON Patch (RFC 6902) operation of a mutating answer. */
export interface PatchOperation {
  op: "replace";
  path: string;
  value: string;
}

/**
 * The patch pinning each container whose image is named by a tag to the digest it was resolved to
 * (`digests[i]` for `containers[i]`; null: left as written): `registry/repo:tag` becomes
 * `registry/repo:tag@sha256:…` — the tag stays readable, the runtime pulls the digest. An image
 * already naming a digest is never rewritten.
 */
export function digestPinPatch(containers: readonly ReviewedContainer[], digests: readonly (string | null)[]): PatchOperation[] {
  return containers.flatMap((c, i) => {
    const digest = digests[i];
    if (!digest || c.image.includes("@")) return [];
    return [{ op: "replace" as const, path: c.path, value: `${c.image}@${digest}` }];
  });
}

/**
 * The containers of an object whose image is new in this request: all of them on CREATE; on UPDATE,
 * those whose image differs from the oldObject's at the same place (an ephemeral container already
 * added, or a container whose image did not change, is immutable or not this request's to pin).
 */
export function newImages(req: AdmissionRequest, containers: readonly ReviewedContainer[]): ReviewedContainer[] {
  if (req.operation !== "UPDATE") return [...containers];
  return containers.filter((c) => valueAt(req.oldObject, c.path) !== c.image);
}

function valueAt(object: unknown, pointer: string): unknown {
  let v: unknown = object;
  for (const p of pointer.split("/").slice(1)) {
    if (typeof v !== "object" || v === null) return undefined;
    v = Array.isArray(v) ? v[Number(p)] : (v as Record<string, unknown>)[p];
  }
  return v;
}

/** The AdmissionReview answering `uid` (with a JSON Patch: a mutating webhook's answer). */
export function admissionResponse(
  uid: string,
  answer: { allowed: boolean; message?: string; warnings?: string[]; code?: number; patch?: readonly PatchOperation[] },
): { apiVersion: "admission.k8s.io/v1"; kind: "AdmissionReview"; response: Record<string, unknown> } {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: answer.allowed,
      ...(answer.allowed ? {} : { status: { code: answer.code ?? 403, reason: "Forbidden", message: answer.message ?? "denied" } }),
      ...(answer.warnings?.length ? { warnings: answer.warnings } : {}),
      ...(answer.allowed && answer.patch?.length ? { patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(answer.patch)).toString("base64") } : {}),
    },
  };
}
