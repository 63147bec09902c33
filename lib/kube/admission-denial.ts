// Parsing admission denials out of Kubernetes Event messages (pure).
//
// When a controller (replicaset-, job-, daemonset-, statefulset-controller) cannot create a pod
// because an admission webhook refused it, it records a Warning Event (reason FailedCreate) whose
// message embeds the API server's error, e.g.
//   Error creating: admission webhook "policy.sigstore.dev" denied the request: validation failed: …
//   create Pod web-0 in StatefulSet web failed error: admission webhook "validation.gatekeeper.sh" …
// The text after "denied the request: " is the webhook's own message, whose format depends on the
// policy engine; this module recognizes sigstore policy-controller, Kyverno and Gatekeeper.
import type { AdmissionController } from "@/lib/kube/types";
import { parseImageReference } from "@/lib/kube/image-ref";

export interface ParsedDenial {
  controller: AdmissionController;
  /** The webhook's name as the API server quotes it; null for a ValidatingAdmissionPolicy. */
  webhook: string | null;
  /** Policies (ClusterImagePolicy, Kyverno policy, Gatekeeper constraint, ValidatingAdmissionPolicy) named in the denial. */
  policyNames: string[];
  /** Image references named in the denial, as written there. */
  images: string[];
  /** The denial from `admission webhook "…"` (or `ValidatingAdmissionPolicy '…'`) on. */
  message: string;
  /** The webhook's own message (after "denied the request: "). */
  reason: string;
}

const WEBHOOK_RE = /admission webhook "([^"]+)" denied the request(?::[ \t]*)?/;
const VAP_RE = /ValidatingAdmissionPolicy '([^']+)' with binding '([^']+)' denied request:[ \t]*/;

/** Which policy engine a webhook name (or, failing that, the message's shape) belongs to. */
export function classifyController(webhook: string | null, reason: string): AdmissionController {
  const w = (webhook ?? "").toLowerCase();
  if (w.endsWith("signet.dev") || /^Signet denied the request: /.test(reason)) return "signet";
  if (w.endsWith("sigstore.dev")) return "policy_controller";
  if (w.includes("kyverno")) return "kyverno";
  if (w.includes("gatekeeper")) return "gatekeeper";
  // Renamed webhooks (Helm values allow it): recognize the engines by their message formats.
  if (/(^|\n)\s*(validation failed: )?(failed policy: |no matching policies: )/.test(reason)) return "policy_controller";
  if (/policy \S+ for resource violation|was blocked due to the following policies/.test(reason)) return "kyverno";
  return "other";
}

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

function cleanImage(raw: string): string | null {
  const v = raw.replace(/^[<'"(\[]+/, "").replace(/[>'",;)\].]+$/, "").replace(/:$/, "");
  if (!v || !parseImageReference(v)) return null;
  return v;
}

/** Signet's own webhook (lib/policy/admission decideAdmission): `policy "<name>" (<mode>): image <ref> (container <c>) is …`. */
function signetDetails(reason: string): { policies: string[]; images: string[] } {
  const policies: string[] = [];
  const images: string[] = [];
  for (const m of reason.matchAll(/policy "([^"\n]{1,253})" \((?:enforce|warn|audit)\): image (\S{1,4096}) \(container /g)) {
    policies.push(m[1]!);
    images.push(m[2]!);
  }
  return { policies, images };
}

function policyControllerDetails(reason: string): { policies: string[]; images: string[] } {
  const policies: string[] = [];
  const images: string[] = [];
  // validation failed: failed policy: <cip>: spec.containers[0].image\n<image> <error>
  for (const m of reason.matchAll(/failed policy: ([^:\s]+): (\S*image)\s*\n\s*(\S+)/g)) {
    policies.push(m[1]!);
    images.push(m[3]!);
  }
  for (const m of reason.matchAll(/failed policy: ([^:\s]+):/g)) policies.push(m[1]!);
  // no matching policies: spec.containers[0].image\n<image>
  for (const m of reason.matchAll(/no matching policies: \S*image\s*\n\s*(\S+)/g)) images.push(m[1]!);
  // invalid value: <image> must be an image digest: spec.containers[0].image
  for (const m of reason.matchAll(/invalid value: (\S+) must be an image digest/g)) images.push(m[1]!);
  return { policies, images };
}

function kyvernoDetails(reason: string): { policies: string[]; images: string[] } {
  const policies: string[] = [];
  // Kyverno ≥ 1.10: "\n\npolicy Pod/ns/name for resource violation: \n\n<policy>:\n  <rule>: <message>"
  // Kyverno < 1.10: "\n\nresource Pod/ns/name was blocked due to the following policies\n\n<policy>:\n  <rule>: <message>"
  // The body is YAML: policies at column 0, their failed rules indented below.
  const header = reason.search(/for resource violation:|was blocked due to the following policies/);
  const body = header >= 0 ? reason.slice(header).split("\n").slice(1).join("\n") : reason;
  for (const m of body.matchAll(/^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?):[ \t]*$/gm)) policies.push(m[1]!);
  const images: string[] = [];
  const imageRes = [
    /failed to verify (?:image|signature for|attestations? for) (\S+?)(?=: |'|\s|$)/g,
    /image verification failed for (\S+?)(?=: |'|\s|$)/g,
    /(?:image|Image) (\S+?) (?:is not signed|signature mismatch|not verified|has not been verified|mutated)/g,
  ];
  for (const re of imageRes) for (const m of body.matchAll(re)) images.push(m[1]!);
  return { policies, images };
}

function gatekeeperDetails(reason: string): { policies: string[]; images: string[] } {
  // "[<constraint>] <message>", one violation per line.
  const policies = [...reason.matchAll(/(?:^|\n)\s*\[([^\]\s]+)\]\s/g)].map((m) => m[1]!);
  const images: string[] = [];
  // k8sallowedrepos: "container <c> has an invalid image repo <img>, allowed repos are [...]"
  // k8simagedigests: "container <c> uses an image without a digest <img>"
  // k8sdisallowedtags: "container <c> uses a disallowed tag <img>; disallowed tags are [...]"
  for (const m of reason.matchAll(/(?:image(?: repo| tag)?|without a digest|disallowed tag) <([^<>\s]+)>/g)) images.push(m[1]!);
  // Ratify external data: "Subject failed verification: <image@digest>"
  for (const m of reason.matchAll(/[Ss]ubject (?:failed verification|verification failed):? (\S+)/g)) images.push(m[1]!);
  return { policies, images };
}

/** Image references with a digest anywhere in the text: a safe catch-all for formats not known above. */
function digestReferences(text: string): string[] {
  return [...text.matchAll(/[a-z0-9][\w.-]*(?::\d+)?(?:\/[\w.-]+)+(?::[\w][\w.-]{0,127})?@sha256:[a-f0-9]{64}/g)].map((m) => m[0]);
}

/**
 * Each image once: when a denial names an image as written (`app:1.0`, `nginx`) and also the same
 * repository by digest (policy-controller writes both), only the digest form stays. Repositories are
 * compared in canonical form (`nginx` is `index.docker.io/library/nginx`).
 */
function onceEach(images: string[]): string[] {
  const parsed = images.map((raw) => ({ raw, ref: parseImageReference(raw) }));
  const digested = new Set(parsed.filter((p) => p.ref?.digest).map((p) => p.ref!.name));
  const seen = new Set<string>();
  return parsed
    .filter((p) => !p.ref || p.ref.digest || !digested.has(p.ref.name))
    .filter((p) => {
      const key = p.ref ? `${p.ref.name}${p.ref.tag && !p.ref.digest ? `:${p.ref.tag}` : ""}${p.ref.digest ? `@${p.ref.digest}` : ""}` : p.raw;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((p) => p.raw);
}

/**
 * Recognizes an admission denial in an Event message (or any error text) and extracts the engine,
 * webhook, policy names and images. Returns null when the text contains no admission denial.
 */
export function parseAdmissionDenial(text: string): ParsedDenial | null {
  let webhook: string | null = null;
  let reason: string;
  let message: string;
  const policyNames: string[] = [];
  const w = WEBHOOK_RE.exec(text);
  const v = w ? null : VAP_RE.exec(text);
  if (w) {
    webhook = w[1]!;
    message = text.slice(w.index).trim();
    reason = text.slice(w.index + w[0].length).trim();
  } else if (v) {
    message = text.slice(v.index).trim();
    reason = text.slice(v.index + v[0].length).trim();
    policyNames.push(v[1]!);
  } else {
    return null;
  }
  const controller = v ? "other" : classifyController(webhook, reason);
  const details =
    controller === "policy_controller"
      ? policyControllerDetails(reason)
      : controller === "kyverno"
        ? kyvernoDetails(reason)
        : controller === "gatekeeper"
          ? gatekeeperDetails(reason)
          : controller === "signet"
            ? signetDetails(reason)
            : { policies: [], images: [] };
  const images = onceEach(unique([...details.images, ...digestReferences(reason)].map(cleanImage).filter((i): i is string => i !== null)));
  return {
    controller,
    webhook,
    policyNames: unique([...policyNames, ...details.policies]),
    images,
    message,
    reason,
  };
}
