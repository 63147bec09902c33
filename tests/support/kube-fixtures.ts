// Fixtures shared by the lib/kube unit and integration tests: real-format admission denials as
// controllers record them in Events, and sample image policies of each engine.

export const D1 = `sha256:${"9272c2be979a9857971fc8b6f7226e609cadec8352f97e9769081930121ef27f"}`;
export const D2 = `sha256:${"b8f2383a95879e1ae064940d9a200f67a6c79e710ed82ac42263397367e7cc4e"}`;

/** Messages as the replicaset-controller records them (FailedCreate), wrapping each engine's denial. */
export const DENIALS = {
  policyController:
    `Error creating: admission webhook "policy.sigstore.dev" denied the request: validation failed: failed policy: my-cip: spec.containers[0].image\n` +
    `registry.example.com/app@${D1} signature key validation failed for authority authority-0 for registry.example.com/app@${D1}: no matching signatures`,
  policyControllerTwo:
    `Error creating: admission webhook "policy.sigstore.dev" denied the request: validation failed: failed policy: keyless-cip: spec.template.spec.containers[0].image\n` +
    `index.docker.io/library/nginx@${D2} signature keyless validation failed for authority authority-0 for index.docker.io/library/nginx@${D2}: no matching signatures\n` +
    `failed policy: keyless-cip: spec.template.spec.initContainers[0].image\n` +
    `ghcr.io/org/init@${D1} signature keyless validation failed for authority authority-0 for ghcr.io/org/init@${D1}: no signatures found`,
  policyControllerNoMatch: `Error creating: admission webhook "policy.sigstore.dev" denied the request: validation failed: no matching policies: spec.containers[0].image\nghcr.io/org/unknown@${D1}`,
  kyverno:
    `Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: \n\npolicy Pod/shop/web-7d9f8b6c5-x2x4q for resource violation: \n\n` +
    `check-image-signature:\n  verify-signature: 'failed to verify image ghcr.io/kyverno/test-verify-image:signed: .attestors[0].entries[0].keys: no matching signatures:\n\n'\n`,
  kyvernoMutate:
    `Error creating: admission webhook "mutate.kyverno.svc-fail" denied the request: \n\nresource Pod/shop/ was blocked due to the following policies\n\n` +
    `verify-image:\n  verify-image: 'image verification failed for registry.example.com/shop/api:1.4: signature mismatch'\n`,
  gatekeeper:
    `Error creating: admission webhook "validation.gatekeeper.sh" denied the request: [prod-repo-is-openpolicyagent] container <nginx> has an invalid image repo <nginx:1.25>, allowed repos are ["openpolicyagent/"]\n` +
    `[must-have-owner] All pods must have an \`owner\` label`,
  gatekeeperRatify: `create Pod web-0 in StatefulSet web failed error: admission webhook "validation.gatekeeper.sh" denied the request: [ratify-constraint] Subject failed verification: registry.example.com/db@${D2}`,
  other: `Error creating: admission webhook "images.corp.example" denied the request: image registry.example.com/x@${D1} is not allowed`,
  vap: `Error creating: pods "x" is forbidden: ValidatingAdmissionPolicy 'require-signed' with binding 'require-signed-binding' denied request: images must be signed`,
};

export const PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENBNHyjA6KmEmrTSj/Tt3cD1LB6UC\nFoEwNHesj462tBSUwaqW1t7SDDfTcZhR5ixmK8kW19DveTT4O+h8E/2Wyg==\n-----END PUBLIC KEY-----";

export const SAMPLE_CIP = {
  apiVersion: "policy.sigstore.dev/v1beta1",
  kind: "ClusterImagePolicy",
  metadata: { name: "signed-by-ci" },
  spec: {
    images: [{ glob: "registry.example.com/**" }],
    authorities: [
      { name: "ci-key", key: { data: PEM } },
      { name: "keyless", keyless: { url: "https://fulcio.sigstore.dev", identities: [{ issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github.com/org/.*$" }] } },
      { name: "kms", key: { kms: "awskms:///arn:aws:kms:eu-west-1:1:key/2" } },
      { name: "att", key: { data: PEM }, attestations: [{ name: "prov", predicateType: "slsaprovenance", policy: { type: "cue", data: "predicateType: \"x\"" } }] },
    ],
  },
};

export const SAMPLE_KYVERNO = {
  apiVersion: "kyverno.io/v1",
  kind: "ClusterPolicy",
  metadata: { name: "check-image-signature" },
  spec: {
    validationFailureAction: "Enforce",
    rules: [
      { name: "labels", match: { any: [{ resources: { kinds: ["Pod"] } }] }, validate: { message: "x", pattern: { metadata: { labels: { app: "?*" } } } } },
      {
        name: "verify-signature",
        match: { any: [{ resources: { kinds: ["Pod"] } }] },
        verifyImages: [
          { imageReferences: ["ghcr.io/kyverno/*"], attestors: [{ count: 1, entries: [{ keys: { publicKeys: PEM } }] }] },
          { type: "Notary", imageReferences: ["registry.example.com/*"], attestors: [{ entries: [{ certificates: { cert: "x" } }] }] },
          {
            imageReferences: ["ghcr.io/org/*"],
            attestors: [{ entries: [{ keyless: { subject: "https://github.com/org/*", issuer: "https://token.actions.githubusercontent.com" } }] }],
            attestations: [{ type: "https://slsa.dev/provenance/v1", conditions: [{ all: [{ key: "{{ builder.id }}", operator: "Equals", value: "x" }] }] }],
          },
        ],
      },
    ],
  },
};

