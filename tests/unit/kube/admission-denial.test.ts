import { describe, expect, it } from "vitest";
import { parseAdmissionDenial } from "@/lib/kube/admission-denial";
import { D1, D2, DENIALS } from "@/tests/support/kube-fixtures";

describe("parseAdmissionDenial", () => {
  it("policy-controller: policy name and image per failed container", () => {
    const d = parseAdmissionDenial(DENIALS.policyController)!;
    expect(d).toMatchObject({ controller: "policy_controller", webhook: "policy.sigstore.dev", policyNames: ["my-cip"], images: [`registry.example.com/app@${D1}`] });
    expect(d.message.startsWith('admission webhook "policy.sigstore.dev" denied the request: validation failed: failed policy: my-cip')).toBe(true);
    expect(d.reason).toContain("no matching signatures");
    const two = parseAdmissionDenial(DENIALS.policyControllerTwo)!;
    expect(two.policyNames).toEqual(["keyless-cip"]);
    expect(two.images).toEqual([`index.docker.io/library/nginx@${D2}`, `ghcr.io/org/init@${D1}`]);
    expect(parseAdmissionDenial(DENIALS.policyControllerNoMatch)).toMatchObject({ controller: "policy_controller", policyNames: [], images: [`ghcr.io/org/unknown@${D1}`] });
  });

  it("Kyverno: policies from the violation block and the verified image (both message generations)", () => {
    expect(parseAdmissionDenial(DENIALS.kyverno)).toMatchObject({
      controller: "kyverno",
      webhook: "validate.kyverno.svc-fail",
      policyNames: ["check-image-signature"],
      images: ["ghcr.io/kyverno/test-verify-image:signed"],
    });
    expect(parseAdmissionDenial(DENIALS.kyvernoMutate)).toMatchObject({
      controller: "kyverno",
      webhook: "mutate.kyverno.svc-fail",
      policyNames: ["verify-image"],
      images: ["registry.example.com/shop/api:1.4"],
    });
  });

  it("Signet's own webhook: its policies and images (a denial a controller met creating pods)", () => {
    const msg = `Error creating: pods "web-5f7c9d-x" is forbidden: admission webhook "validate.signet.dev" denied the request: Signet denied the request: policy "release" (enforce): image registry.example.com/app@${D1} (container app) is unsigned: no signature or attestation exists`;
    expect(parseAdmissionDenial(msg)).toMatchObject({ controller: "signet", webhook: "validate.signet.dev", policyNames: ["release"], images: [`registry.example.com/app@${D1}`] });
  });

  it("Gatekeeper: every constraint in brackets, images named by the templates", () => {
    expect(parseAdmissionDenial(DENIALS.gatekeeper)).toMatchObject({
      controller: "gatekeeper",
      webhook: "validation.gatekeeper.sh",
      policyNames: ["prod-repo-is-openpolicyagent", "must-have-owner"],
      images: ["nginx:1.25"],
    });
    expect(parseAdmissionDenial(DENIALS.gatekeeperRatify)).toMatchObject({ controller: "gatekeeper", policyNames: ["ratify-constraint"], images: [`registry.example.com/db@${D2}`] });
  });

  it("Gatekeeper library templates: images without a digest and disallowed tags", () => {
    const digests = parseAdmissionDenial(
      `Error creating: admission webhook "validation.gatekeeper.sh" denied the request: [container-image-must-have-digest] container <web> uses an image without a digest <nginx:1.25>\n` +
        `[container-image-must-have-digest] initContainer <init> uses an image without a digest <ghcr.io/org/init:v2>`,
    )!;
    expect(digests).toMatchObject({ controller: "gatekeeper", policyNames: ["container-image-must-have-digest"], images: ["nginx:1.25", "ghcr.io/org/init:v2"] });
    expect(parseAdmissionDenial(`admission webhook "validation.gatekeeper.sh" denied the request: [no-latest] container <c> uses a disallowed tag <redis:latest>; disallowed tags are ["latest"]`)!.images).toEqual(["redis:latest"]);
  });

  it("policy-controller: an image written with a tag and resolved to a digest is listed once", () => {
    const text =
      `Error creating: admission webhook "policy.sigstore.dev" denied the request: validation failed: failed policy: my-cip: spec.containers[0].image\n` +
      `registry.example.com/app:1.0 signature key validation failed for authority authority-0 for registry.example.com/app@${D1}: no matching signatures\n` +
      `failed policy: my-cip: spec.containers[1].image\n` +
      `nginx signature key validation failed for authority authority-0 for index.docker.io/library/nginx@${D2}: no matching signatures`;
    expect(parseAdmissionDenial(text)!.images).toEqual([`registry.example.com/app@${D1}`, `index.docker.io/library/nginx@${D2}`]);
  });

  it("other webhooks and ValidatingAdmissionPolicies", () => {
    expect(parseAdmissionDenial(DENIALS.other)).toMatchObject({ controller: "other", webhook: "images.corp.example", policyNames: [], images: [`registry.example.com/x@${D1}`] });
    expect(parseAdmissionDenial(DENIALS.vap)).toMatchObject({ controller: "other", webhook: null, policyNames: ["require-signed"], reason: "images must be signed" });
  });

  it("recognizes renamed webhooks by their message format", () => {
    const renamed = DENIALS.policyController.replace("policy.sigstore.dev", "cosigned.internal");
    expect(parseAdmissionDenial(renamed)?.controller).toBe("policy_controller");
    expect(parseAdmissionDenial(DENIALS.kyverno.replace("validate.kyverno.svc-fail", "policy.internal"))?.controller).toBe("kyverno");
  });

  it("is null for anything that is not a denial", () => {
    expect(parseAdmissionDenial('Error creating: pods "web-1" is forbidden: exceeded quota: compute')).toBeNull();
    expect(parseAdmissionDenial('Internal error occurred: failed calling webhook "policy.sigstore.dev": context deadline exceeded')).toBeNull();
    expect(parseAdmissionDenial("Back-off pulling image")).toBeNull();
  });
});
