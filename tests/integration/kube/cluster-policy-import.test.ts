import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { createDb, type Db } from "@/lib/db/client";
import { listClusterImagePolicies } from "@/lib/kube/cluster-policies";
import { loadKubeconfigClusters, type KubeTarget } from "@/lib/kube/clusters";
import { importClusterImagePolicy, importKyvernoPolicy } from "@/lib/policy/import-cluster";
import { archiveMissingImports, loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { installCrd, looseCrd, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";

// Kyverno's real CRDs (scripts/provision/kyverno-crds.sh) on a real kube-apiserver: the objects the
// importer reads are what the apiserver accepted and returned (schemas, defaults, pruning), not fixtures.

const CRDS = process.env.KYVERNO_CRDS_DIR ?? path.resolve(".cache/kyverno-crds/v1.19.1");
const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();

let kube: KubeApiserver;
let admin: KubeTarget;
let tdb: TestDatabase;
let db: Db;

beforeAll(async () => {
  kube = await startKubeApiserver();
  admin = loadKubeconfigClusters({ kubeconfigPath: kube.kubeconfigPath, contexts: ["admin"] })[0]!;
  for (const f of ["kyverno.io_clusterpolicies.yaml", "policies.kyverno.io_imagevalidatingpolicies.yaml"]) {
    await installCrd(kube, YAML.parse(await fs.readFile(path.join(CRDS, f), "utf8")));
  }
  await installCrd(kube, looseCrd("policy.sigstore.dev", "ClusterImagePolicy", "clusterimagepolicies", "Cluster", ["v1beta1", "v1alpha1"]));
  tdb = await createTestDatabase();
  db = createDb(tdb.url, 4);
}, 180_000);
afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
  await kube?.stop();
});

const IVP = {
  apiVersion: "policies.kyverno.io/v1",
  kind: "ImageValidatingPolicy",
  metadata: { name: "signed-images" },
  spec: {
    validationActions: ["Deny"],
    matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }] },
    matchImageReferences: [{ glob: "docker.io/library/redis*" }, { glob: "registry.test/*" }],
    attestors: [
      { name: "release", cosign: { key: { data: PEM }, ctlog: { insecureIgnoreTlog: true } } },
      { name: "ci", cosign: { keyless: { identities: [{ issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github\\.com/acme/.*$" }] } } },
    ],
    attestations: [{ name: "prov", intoto: { type: "https://slsa.dev/provenance/v1" } }],
    validations: [
      { expression: "images.containers.map(image, verifyImageSignatures(image, [attestors.release, attestors.ci])).all(e, e > 0)", message: "not signed" },
      { expression: "images.containers.map(image, verifyAttestationSignatures(image, attestations.prov, [attestors.ci])).all(e, e > 0)", message: "no provenance" },
    ],
  },
};

const CPOL = {
  apiVersion: "kyverno.io/v1",
  kind: "ClusterPolicy",
  metadata: { name: "verify-redis" },
  spec: {
    rules: [
      {
        name: "redis",
        match: { any: [{ resources: { kinds: ["Pod"], namespaces: ["cache"] } }] },
        verifyImages: [
          {
            failureAction: "Enforce",
            imageReferences: ["docker.io/library/redis*"],
            attestors: [{ count: 1, entries: [{ keys: { publicKeys: PEM, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }, { keyless: { subject: "https://github.com/acme/*", issuer: "https://token.actions.githubusercontent.com" } }] }],
          },
        ],
      },
    ],
  },
};

describe("importing Kyverno and policy-controller policies from a real apiserver", () => {
  it("applies the real CRDs, reads the objects back and imports them with Kyverno's semantics", async () => {
    await kube.request("POST", "/apis/policies.kyverno.io/v1/imagevalidatingpolicies", IVP);
    await kube.request("POST", "/apis/kyverno.io/v1/clusterpolicies", CPOL);
    await kube.request("POST", "/apis/policy.sigstore.dev/v1beta1/clusterimagepolicies", {
      apiVersion: "policy.sigstore.dev/v1beta1",
      kind: "ClusterImagePolicy",
      metadata: { name: "keyed" },
      spec: { images: [{ glob: "registry.test/**" }], authorities: [{ name: "k", key: { data: PEM } }] },
    });
    const r = await listClusterImagePolicies(admin);
    expect(r.error).toBeNull();
    expect(r.kyverno.installed).toBe(true);
    const byName = new Map(r.policies.map((p) => [p.name, p]));
    expect([...byName.keys()].sort()).toEqual(["keyed", "signed-images", "verify-redis"]);
    expect(byName.get("signed-images")).toMatchObject({ engine: "kyverno", kind: "ImageValidatingPolicy", apiVersion: "policies.kyverno.io/v1" });

    const ivp = importKyvernoPolicy(byName.get("signed-images")!.raw);
    const ivpDoc = ivp.documents[0]!;
    expect(ivpDoc.metadata.name).toBe("kyverno-ivp-signed-images");
    expect(ivpDoc.spec.mode).toBe("enforce");
    expect(ivpDoc.spec.scope.images).toEqual(["docker.io/library/redis**", "registry.test/**"]);
    expect(ivpDoc.spec.require.signatures).toEqual([{ anyOf: ["release", "ci"] }]);
    expect(ivpDoc.spec.require.attestations).toEqual([{ predicateType: "https://slsa.dev/provenance/v1", signedBy: ["ci"] }]);
    expect(ivpDoc.spec.authorities.map((a) => [a.name, a.requireTlog])).toEqual([["release", false], ["ci", true]]);

    const cpol = importKyvernoPolicy(byName.get("verify-redis")!.raw);
    const cpolDoc = cpol.documents[0]!;
    expect(cpolDoc.spec).toMatchObject({ mode: "enforce", scope: { images: ["docker.io/library/redis**"], namespaces: ["cache"] } });
    expect(cpolDoc.spec.authorities[1]!.keyless!.identities).toEqual([{ issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github\\.com/acme/.*$" }]);
    expect(cpol.unsupported.join("\n")).toMatch(/ignoreSCT/);

    // saved, compiled, and a Docker Hub scope that applies however the pod writes redis
    for (const d of [...ivp.documents, ...cpol.documents, ...importClusterImagePolicy(byName.get("keyed")!.raw).documents]) {
      await savePolicyDocument(db, d, { actor: "import", source: "cluster_import", readOnly: true, sourceCluster: "admin" });
    }
    const loaded = await loadActivePolicies(db);
    expect(loaded.map((p) => [p.name, p.error ?? null])).toEqual([
      ["cip-keyed", null],
      ["kyverno-ivp-signed-images", null],
      ["kyverno-verify-redis-redis", null],
    ]);
  });

  it("archives imported policies whose source was deleted, and brings them back", async () => {
    await kube.request("DELETE", "/apis/kyverno.io/v1/clusterpolicies/verify-redis");
    const r = await listClusterImagePolicies(admin);
    const names = r.policies.flatMap((p) => (p.engine === "kyverno" ? importKyvernoPolicy(p.raw) : importClusterImagePolicy(p.raw)).documents.map((d) => d.metadata.name));
    expect(await archiveMissingImports(db, "admin", names, "import")).toEqual(["kyverno-verify-redis-redis"]);
    expect(await archiveMissingImports(db, "admin", names, "import")).toEqual([]);
    expect((await loadActivePolicies(db)).map((p) => p.name)).toEqual(["cip-keyed", "kyverno-ivp-signed-images"]);
    const again = importKyvernoPolicy(CPOL).documents[0]!;
    await savePolicyDocument(db, again, { actor: "import", source: "cluster_import", readOnly: true, sourceCluster: "admin" });
    expect((await loadActivePolicies(db)).map((p) => p.name)).toContain("kyverno-verify-redis-redis");
  });

  it("the apiserver refuses what Kyverno's schema refuses, so hostile objects never reach the importer as such", async () => {
    const bad = { ...IVP, metadata: { name: "bad" }, spec: { ...IVP.spec, validationActions: ["Explode"] } };
    await expect(kube.request("POST", "/apis/policies.kyverno.io/v1/imagevalidatingpolicies", bad)).rejects.toThrow();
  });
});
