import { describe, expect, it } from "vitest";
import { admissionResponse, admissionReviewSchema, digestPinPatch, newImages, reviewedObject, type AdmissionRequest } from "@/lib/admission/review";
import { decideAdmission, predictedAdmission, type AdmissionOutcome } from "@/lib/policy/admission";

const outcome = (o: Partial<AdmissionOutcome>): AdmissionOutcome => ({
  container: "app",
  image: "ghcr.io/acme/app@sha256:" + "a".repeat(64),
  policy: "release",
  mode: "enforce",
  verdict: "verified",
  reasons: [{ code: "satisfied", message: "signed by ci" }],
  ...o,
});

describe("decideAdmission (the webhook's and the dry run's decision)", () => {
  it("denies an enforce policy's non-verified outcome, naming policy, image and reason; error fails closed", () => {
    const d = decideAdmission([
      outcome({}),
      outcome({ container: "side", image: "ghcr.io/acme/side:1", verdict: "unsigned", reasons: [{ code: "unsigned", message: "no signature or attestation exists" }] }),
    ]);
    expect(d.decision).toBe("deny");
    expect(d.message).toBe('Signet denied the request: policy "release" (enforce): image ghcr.io/acme/side:1 (container side) is unsigned: no signature or attestation exists');
    expect(decideAdmission([outcome({ verdict: "error", reasons: [{ code: "discovery-error", message: "registry unreachable" }] })]).decision).toBe("deny");
  });

  it("warns for warn policies, admits for audit ones and for no outcome at all", () => {
    const w = decideAdmission([outcome({ mode: "warn", verdict: "failed", reasons: [{ code: "no-matching-key", message: "not signed by ci" }] }), outcome({ mode: "audit", verdict: "unsigned" })]);
    expect(w).toMatchObject({ decision: "warn", message: "", warnings: ['Signet: policy "release" (warn): image ghcr.io/acme/app@sha256:' + "a".repeat(64) + " (container app) is failed: not signed by ci"] });
    expect(decideAdmission([outcome({ mode: "audit", verdict: "unsigned" })]).decision).toBe("admit");
    expect(decideAdmission([])).toMatchObject({ decision: "admit", warnings: [] });
  });

  it("answers 'if this policy were enforced' with the mode overridden, and agrees with predictedAdmission", () => {
    const o = outcome({ mode: "audit", verdict: "failed" });
    expect(decideAdmission([o]).decision).toBe("admit");
    expect(decideAdmission([o], "enforce").decision).toBe("deny");
    for (const verdict of ["verified", "failed", "unsigned", "error"] as const) {
      for (const mode of ["enforce", "warn", "audit"] as const) expect(decideAdmission([outcome({ verdict, mode })]).decision).toBe(predictedAdmission(verdict, mode));
    }
  });

  it("keeps messages and warnings bounded", () => {
    const many = Array.from({ length: 30 }, (_, i) => outcome({ container: `c${i}`, mode: "warn", verdict: "unsigned", image: `r.example/${"x".repeat(600)}:${i}` }));
    const d = decideAdmission(many);
    expect(d.warnings).toHaveLength(9);
    expect(d.warnings.every((w) => w.length <= 256)).toBe(true);
    expect(decideAdmission(many, "enforce").message.length).toBeLessThanOrEqual(1024);
  });
});

describe("AdmissionReview reading", () => {
  const req = (kind: { group: string; kind: string }, object: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest =>
    admissionReviewSchema.parse({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: { uid: "u", kind: { ...kind, version: "v1" }, namespace: "prod", operation: "CREATE", object, ...extra },
    }).request;
  const spec = { initContainers: [{ name: "init", image: "busybox" }], containers: [{ name: "app", image: "nginx:1" }] };

  it("finds the pod spec of every kind it evaluates", () => {
    expect(reviewedObject(req({ group: "", kind: "Pod" }, { metadata: { name: "p" }, spec }))).toEqual({
      kind: "pod-spec",
      objectKind: "Pod",
      name: "p",
      namespace: "prod",
      containers: [
        { name: "init", kind: "init", image: "busybox", path: "/spec/initContainers/0/image" },
        { name: "app", kind: "app", image: "nginx:1", path: "/spec/containers/0/image" },
      ],
    });
    for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]) {
      expect(reviewedObject(req({ group: "apps", kind }, { metadata: { name: "w" }, spec: { template: { spec } } }))).toMatchObject({ kind: "pod-spec", objectKind: kind, containers: [{}, {}] });
    }
    expect(reviewedObject(req({ group: "batch", kind: "Job" }, { metadata: { name: "j" }, spec: { template: { spec } } }))).toMatchObject({ kind: "pod-spec", containers: [{}, {}] });
    expect(reviewedObject(req({ group: "batch", kind: "CronJob" }, { metadata: { name: "c" }, spec: { jobTemplate: { spec: { template: { spec } } } } }))).toMatchObject({ kind: "pod-spec", containers: [{}, {}] });
  });

  it("skips other kinds, deletes and status writes; refuses a pod kind without a readable spec", () => {
    expect(reviewedObject(req({ group: "", kind: "ConfigMap" }, { data: {} })).kind).toBe("skip");
    expect(reviewedObject(req({ group: "", kind: "Pod" }, { spec }, { operation: "DELETE" })).kind).toBe("skip");
    expect(reviewedObject(req({ group: "", kind: "Pod" }, { spec }, { subResource: "status" })).kind).toBe("skip");
    expect(reviewedObject(req({ group: "", kind: "Pod" }, { spec }, { subResource: "ephemeralcontainers" })).kind).toBe("pod-spec");
    expect(reviewedObject(req({ group: "apps", kind: "Deployment" }, { spec: { template: {} } }))).toMatchObject({ kind: "invalid" });
    expect(reviewedObject(req({ group: "", kind: "Pod" }, null))).toMatchObject({ kind: "invalid" });
  });

  it("admits an UPDATE that runs no new image without evaluating it; evaluates one that does", () => {
    const deployment = (images: string[], replicas = 1) => ({ metadata: { name: "w" }, spec: { replicas, template: { spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } } });
    const update = (before: unknown, after: unknown) => reviewedObject(req({ group: "apps", kind: "Deployment" }, after, { operation: "UPDATE", oldObject: before }));
    // a scale, and a container renamed or dropped: the same images
    expect(update(deployment(["nginx:1", "redis:7"]), deployment(["nginx:1", "redis:7"], 5))).toEqual({ kind: "unchanged", objectKind: "Deployment" });
    expect(update(deployment(["nginx:1", "redis:7"]), deployment(["redis:7"]))).toEqual({ kind: "unchanged", objectKind: "Deployment" });
    // a new image, a new tag, a digest for a tag: evaluated
    expect(update(deployment(["nginx:1"]), deployment(["nginx:1", "redis:7"]))).toMatchObject({ kind: "pod-spec", containers: [{ image: "nginx:1" }, { image: "redis:7" }] });
    expect(update(deployment(["nginx:1"]), deployment(["nginx:2"]))).toMatchObject({ kind: "pod-spec" });
    expect(update(deployment(["nginx:1"]), deployment([`nginx@sha256:${"a".repeat(64)}`]))).toMatchObject({ kind: "pod-spec" });
    // no old object, or one without a readable spec: evaluated like a CREATE
    expect(update(undefined, deployment(["nginx:1"]))).toMatchObject({ kind: "pod-spec" });
    expect(update({ spec: {} }, deployment(["nginx:1"]))).toMatchObject({ kind: "pod-spec" });
    // kubectl debug: the ephemeral container's image is new
    const pod = (ephemeral: string[]) => ({ metadata: { name: "p" }, spec: { containers: [{ name: "app", image: "nginx:1" }], ephemeralContainers: ephemeral.map((image, i) => ({ name: `e${i}`, image })) } });
    expect(reviewedObject(req({ group: "", kind: "Pod" }, pod(["busybox"]), { operation: "UPDATE", subResource: "ephemeralcontainers", oldObject: pod([]) }))).toMatchObject({ kind: "pod-spec", containers: [{ image: "nginx:1" }, { kind: "ephemeral", image: "busybox" }] });
  });

  it("answers with the uid, a status only when denied, warnings only when there are some", () => {
    expect(admissionResponse("u1", { allowed: true })).toEqual({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "u1", allowed: true } });
    expect(admissionResponse("u2", { allowed: false, message: "no", warnings: ["w"] }).response).toEqual({ uid: "u2", allowed: false, status: { code: 403, reason: "Forbidden", message: "no" }, warnings: ["w"] });
  });

  it("pins only the tags of containers new in the request, as a JSON Patch of their image fields", () => {
    const d = `sha256:${"b".repeat(64)}`;
    const pod = (ephemeral: string[]) => ({ metadata: { name: "p" }, spec: { containers: [{ name: "app", image: "nginx:1" }], ephemeralContainers: ephemeral.map((image, i) => ({ name: `e${i}`, image })) } });
    // CREATE: every container; an image already naming a digest is never rewritten
    const created = req({ group: "", kind: "Pod" }, { spec: { containers: [{ name: "a", image: "nginx:1" }, { name: "b", image: `nginx:1@${d}` }] } });
    const all = (reviewedObject(created) as { containers: Parameters<typeof newImages>[1] }).containers;
    expect(newImages(created, all)).toHaveLength(2);
    expect(digestPinPatch(all, [d, d])).toEqual([{ op: "replace", path: "/spec/containers/0/image", value: `nginx:1@${d}` }]);
    expect(digestPinPatch(all, [null, null])).toEqual([]);
    // kubectl debug: only the ephemeral container just added (the ones before it are immutable)
    const debug = req({ group: "", kind: "Pod" }, pod(["busybox", "alpine:3"]), { operation: "UPDATE", subResource: "ephemeralcontainers", oldObject: pod(["busybox"]) });
    const containers = (reviewedObject(debug) as { containers: Parameters<typeof newImages>[1] }).containers;
    const fresh = newImages(debug, containers);
    expect(fresh.map((c) => c.path)).toEqual(["/spec/ephemeralContainers/1/image"]);
    expect(digestPinPatch(fresh, [d])).toEqual([{ op: "replace", path: "/spec/ephemeralContainers/1/image", value: `alpine:3@${d}` }]);
    // the patch travels base64-encoded, only with an admission
    const answer = admissionResponse("u3", { allowed: true, patch: digestPinPatch(fresh, [d]) }).response;
    expect(answer.patchType).toBe("JSONPatch");
    expect(JSON.parse(Buffer.from(answer.patch as string, "base64").toString())).toEqual([{ op: "replace", path: "/spec/ephemeralContainers/1/image", value: `alpine:3@${d}` }]);
    expect(admissionResponse("u4", { allowed: false, patch: digestPinPatch(fresh, [d]) }).response.patch).toBeUndefined();
  });
});
