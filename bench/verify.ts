/**
 * Verification throughput (crypto only, no registry): 1,000 image digests, each with a cosign classic
 * signature manifest already discovered, generated in memory in the exact cosign format, verified with
 * a key policy. Also reports the same digests with a Rekor SET (key + tlog) and keyless (private
 * Fulcio-like root) for comparison. Best of three rounds after a warm-up; single thread.
 *
 *   bash scripts/n24.sh tsx --conditions=react-server bench/verify.ts [digests]
 */
import { parseTrustedRoot } from "@/lib/sigstore/trusted-root";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import type { DiscoveredArtifact, ImageAt } from "@/lib/evidence/types";
import type { PublicKeyCandidate } from "@/lib/sigstore/types";
import { classicLayer, hashedRekordBody, makeKey, randomDigest, rekorBundleAnnotation, tagArtifact } from "../tests/support/sigstore-fixtures";
import { keylessSignatureLayer, makeLeaf, makePrivateSigstore } from "../tests/support/sigstore-pki";

const count = Number(process.argv[2] ?? 1000);
const now = new Date();

interface Workload {
  name: string;
  items: Array<{ image: ImageAt; artifacts: DiscoveredArtifact[] }>;
  keys: PublicKeyCandidate[];
  trust: ReturnType<typeof parseTrustedRoot>[];
}

function build(): Workload[] {
  const key = makeKey("p256");
  const sigstore = makePrivateSigstore();
  const root = parseTrustedRoot(sigstore.trustedRootJson, { id: "bench" });
  const keyOnly: Workload = { name: "key (classic .sig, no tlog)", items: [], keys: [{ keyId: "release", pem: key.pem }], trust: [] };
  const keyTlog: Workload = { name: "key + Rekor SET", items: [], keys: keyOnly.keys, trust: [root] };
  const keyless: Workload = { name: "keyless (chain + SCT + SET)", items: [], keys: [], trust: [root] };
  const t = Math.floor(now.getTime() / 1000);
  const leaf = makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 540_000), identity: { email: "ci@signet.test" }, issuerV2: "https://issuer.test" });
  for (let i = 0; i < count; i++) {
    const digest = randomDigest();
    const image = { registry: "registry.local", repository: "team/app", digest };
    const layer = classicLayer(digest, key);
    keyOnly.items.push({ image, artifacts: [tagArtifact(digest, "sig", [layer])] });
    const withSet = classicLayer(digest, key);
    const signature = Buffer.from(withSet.annotations["dev.cosignproject.cosign/signature"] as string, "base64");
    withSet.annotations["dev.sigstore.cosign/bundle"] = rekorBundleAnnotation({ body: hashedRekordBody(withSet.content, signature, key.pem), integratedTime: t, logIndex: i, log: sigstore.rekor });
    keyTlog.items.push({ image, artifacts: [tagArtifact(digest, "sig", [withSet])] });
    keyless.items.push({ image, artifacts: [tagArtifact(digest, "sig", [keylessSignatureLayer({ sigstore, leaf, imageDigest: digest, integratedTime: t, logIndex: i })])] });
  }
  return [keyOnly, keyTlog, keyless];
}

function run(w: Workload): { perSecond: number; valid: number } {
  let valid = 0;
  const started = performance.now();
  for (const item of w.items) {
    for (const e of verifyArtifacts({ image: item.image, artifacts: item.artifacts, trust: w.trust, keys: w.keys, now })) if (e.status === "valid") valid++;
  }
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: w.items.length / seconds, valid };
}

const workloads = build();
for (const w of workloads) run({ ...w, items: w.items.slice(0, 100) }); // warm-up
// Best of three rounds: the figure is for the code, not for whatever else the machine is doing.
const results = workloads.map((w) => {
  const rounds = [run(w), run(w), run(w)];
  return { w, perSecond: Math.max(...rounds.map((r) => r.perSecond)), valid: rounds[0]?.valid ?? 0 };
});
const [main] = results;
if (!main || main.valid !== count) throw new Error(`expected ${count} valid evidence, got ${main?.valid}`);
console.log(`verify: ${Math.round(main.perSecond)} verifications/s (${count} digests, key policy, cosign classic signatures, node ${process.version})`);
for (const r of results.slice(1)) console.log(`  ${r.w.name}: ${Math.round(r.perSecond)} verifications/s (${r.valid}/${count} valid)`);
