import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AppShell } from "@/components/app-shell";
import { Signer, SignerList } from "@/components/signer";
import { Card, EmptyState, PageHeader, SimpleTable, td, TextLink, VerdictBadge } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { getImageDetail } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import type { EvidenceDto } from "@/lib/dto/dashboard";
import { tagOf } from "@/lib/registry/reference";
import { normalizeFingerprint } from "@/lib/trust/facts";
import { authorityNames } from "@/lib/trust/inventory";
import { nameKeysIn, shortDigest, untrustedKeyIn } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";
import { Time } from "@/components/time";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Image" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Field({ label, children, testId }: { label: string; children: React.ReactNode; testId?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="mt-0.5 break-all text-sm" data-testid={testId}>
        {children ?? <span className="text-slate-600 dark:text-slate-400">—</span>}
      </dd>
    </div>
  );
}

/** Who signed a piece of evidence, by the one name of its authority; an untrusted signer is named as such. */
function SignerOf({ e, names }: { e: EvidenceDto; names: Record<string, string> }) {
  if (e.keyFingerprint) return <Signer signer={`key:${normalizeFingerprint(e.keyFingerprint)}`} names={names} />;
  if (e.certIdentity) return <Signer signer={`keyless:${e.certIssuer ?? ""}|${e.certIdentity}`} names={names} />;
  if (e.status !== "valid" && e.statusReason?.includes("no-matching-key")) {
    const untrusted = untrustedKeyIn(e.statusReason);
    if (untrusted) return <Signer signer={`key:${untrusted}`} names={names} />;
    return (
      <span className="text-amber-800 dark:text-amber-300" data-testid="signer-untrusted">
        signed by an untrusted key (no key of any policy verifies it; the signature does not name its key)
      </span>
    );
  }
  return <span>unknown signer</span>;
}

export default async function ImageDetailPage({ params }: { params: Promise<{ id: string }> }) {
  await requireUser();
  const { id } = await params;
  if (!UUID.test(id)) notFound();
  const db = getDb();
  const [image, names] = await Promise.all([getImageDetail(db, id), authorityNames(db)]);
  if (!image) notFound();
  const places = [...new Map(image.containers.map((c) => [`${c.cluster}/${c.namespace}`, c])).values()];
  const ext = (e: EvidenceDto) => Object.entries(e.certExtensions ?? {});
  return (
    <AppShell current="/images">
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href="/images">Images</TextLink> / <span className="text-slate-600 dark:text-slate-400">{image.repository}</span>
      </nav>
      <PageHeader
        title={`${image.registry}/${image.repository}`}
        description={
          <span className="break-all font-mono text-xs" data-testid="image-digest">
            {image.digest}
          </span>
        }
        actions={<VerdictBadge verdict={image.verdict} />}
      />

      <p className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-sm" data-testid="image-links">
        <TextLink href={links.images({ q: `${image.registry}/${image.repository}` })}>Other digests of this repository</TextLink>
        <TextLink href={links.rejections({ q: image.repository })}>Admission rejections of this repository</TextLink>
        <TextLink href={links.audit({ imageDigest: image.digest })}>Audit log of this digest</TextLink>
      </p>

      <Card title="Trust chain" className="mt-4" testId="trust-chain">
        <ol className="grid gap-3 md:grid-cols-4">
          <li className="rounded border border-slate-200 p-3 dark:border-slate-800">
            <div className="text-xs font-medium uppercase text-slate-600 dark:text-slate-400">1 · Source</div>
            <dl className="mt-2 space-y-2">
              <Field label="Repository" testId="source-repository">{image.source.repository}</Field>
              <Field label="Commit" testId="source-commit">{image.source.commit}</Field>
            </dl>
          </li>
          <li className="rounded border border-slate-200 p-3 dark:border-slate-800">
            <div className="text-xs font-medium uppercase text-slate-600 dark:text-slate-400">2 · Build identity</div>
            <dl className="mt-2 space-y-2">
              <Field label="Builder">{image.source.builder}</Field>
              <Field label="Workflow" testId="source-workflow">{image.source.workflow}</Field>
              <Field label="Signers" testId="image-signers">
                <SignerList signers={image.signers} names={names} discovery={image.discovery} />
              </Field>
            </dl>
          </li>
          <li className="rounded border border-slate-200 p-3 dark:border-slate-800">
            <div className="text-xs font-medium uppercase text-slate-600 dark:text-slate-400">3 · Registry</div>
            <dl className="mt-2 space-y-2">
              <Field label="Digest">{shortDigest(image.digest)}</Field>
              <Field label="Discovery">
                {image.discovery}
                {image.discoveryError ? ` — ${image.discoveryError}` : ""}
              </Field>
              <Field label="Checked"><Time iso={image.discoveredAt} /></Field>
            </dl>
          </li>
          <li className="rounded border border-slate-200 p-3 dark:border-slate-800">
            <div className="text-xs font-medium uppercase text-slate-600 dark:text-slate-400">4 · Running</div>
            <dl className="mt-2 space-y-2">
              <Field label="Containers" testId="running-count">
                <TextLink href="#placements">{image.containers.length}</TextLink>
              </Field>
              <Field label="Namespaces" testId="image-namespaces">
                {places.length
                  ? places.map((c) => (
                      <div key={`${c.cluster}/${c.namespace}`}>
                        <TextLink href={links.namespace(c.cluster, c.namespace)}>
                          {c.cluster}/{c.namespace}
                        </TextLink>
                      </div>
                    ))
                  : null}
              </Field>
            </dl>
          </li>
        </ol>
      </Card>

      <Card title="Signatures and attestations" className="mt-4" testId="evidence">
        {image.evidence.length === 0 ? (
          <EmptyState title="No signature or attestation found" testId="no-evidence">
            The registry holds no signature, attestation or referrer for this digest.
          </EmptyState>
        ) : (
          <ul className="space-y-3">
            {image.evidence.map((e) => (
              <li key={e.id} className="rounded border border-slate-200 p-3 dark:border-slate-800" data-testid={`evidence-${e.kind}`}>
                <div className="flex flex-wrap items-center gap-2 text-sm">
                  <span className="font-medium">{e.kind}</span>
                  <span className={`rounded px-1.5 py-0.5 text-xs ${e.status === "valid" ? "bg-emerald-100 text-emerald-900 dark:bg-emerald-900/50 dark:text-emerald-200" : "bg-red-100 text-red-900 dark:bg-red-900/50 dark:text-red-200"}`}>
                    {e.status}
                  </span>
                  <span className="text-slate-600 dark:text-slate-400">
                    <SignerOf e={e} names={names} />
                  </span>
                  {e.status === "valid" && !e.trusted && (
                    <span className="rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900 dark:bg-amber-900/50 dark:text-amber-200" data-testid="untrusted-cosigner" title="Valid, but no applicable policy trusts this signer: it does not inform the trust chain">
                      untrusted co-signer
                    </span>
                  )}
                </div>
                {e.statusReason && <p className="mt-1 text-xs text-red-700 dark:text-red-300">{nameKeysIn(e.statusReason, names)}</p>}
                <dl className="mt-2 grid gap-2 text-sm sm:grid-cols-2 lg:grid-cols-4">
                  <Field label="Rekor log index">{e.tlogLogIndex}</Field>
                  <Field label="Integrated time">{e.tlogIntegratedTime ? <Time iso={e.tlogIntegratedTime} /> : null}</Field>
                  <Field label="Predicate type">{e.predicateType}</Field>
                  <Field label="Artifact">{shortDigest(e.artifactDigest)}</Field>
                </dl>
                {ext(e).length > 0 && (
                  <details className="mt-2 text-xs">
                    <summary className="cursor-pointer">Certificate extensions</summary>
                    <dl className="mt-1 grid gap-1 sm:grid-cols-2">
                      {ext(e).map(([k, v]) => (
                        <Field key={k} label={k}>{String(v)}</Field>
                      ))}
                    </dl>
                  </details>
                )}
                {e.provenance != null && (
                  <details className="mt-2 text-xs">
                    <summary className="cursor-pointer">Provenance</summary>
                    <pre className="mt-1 overflow-x-auto rounded bg-slate-100 p-2 dark:bg-slate-800">{JSON.stringify(e.provenance, null, 2)}</pre>
                  </details>
                )}
              </li>
            ))}
          </ul>
        )}
      </Card>

      <Card title="Where it runs and verdicts per policy" className="mt-4" testId="placements" id="placements">
        {image.containers.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">Not running anywhere now.</p>
        ) : (
          <SimpleTable head={["Where", "Container", "Policy", "Verdict", "Reasons"]} caption="Containers running this image and their verdicts">
            {image.containers.flatMap((c) =>
              (c.verdicts.length ? c.verdicts : [null]).map((v, i) => (
                <tr key={`${c.id}-${v?.policyId ?? "none"}`} data-testid={`placement-${c.pod}`}>
                  <td className={td}>
                    {i === 0 ? (
                      <>
                        <TextLink href={links.namespace(c.cluster, c.namespace)}>
                          {c.cluster}/{c.namespace}
                        </TextLink>
                        /<TextLink href={links.workload(c.cluster, c.namespace, c.workload)}>{c.workload}</TextLink>
                      </>
                    ) : (
                      ""
                    )}
                  </td>
                  <td className={td}>
                    {i === 0 ? (
                      <>
                        <TextLink href={links.container(c.id)}>{c.name}</TextLink>
                        {tagOf(c.imageRef) && <div className="text-xs text-slate-600 dark:text-slate-400">tag {tagOf(c.imageRef)}</div>}
                      </>
                    ) : (
                      ""
                    )}
                  </td>
                  <td className={td}>
                    {v ? (
                      <>
                        <TextLink href={`/policies/${v.policyId}`}>{v.policy}</TextLink> <span className="text-xs text-slate-600 dark:text-slate-400">v{v.policyVersion} · {v.mode}</span>
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className={td}>{v ? <VerdictBadge verdict={v.verdict} /> : <VerdictBadge verdict={null} />}</td>
                  <td className={`${td} text-xs text-slate-600 dark:text-slate-400`}>{v?.reasons.join("; ")}</td>
                </tr>
              )),
            )}
          </SimpleTable>
        )}
      </Card>

      <Card title="Verdict history" className="mt-4" testId="history">
        {image.history.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No verdict recorded yet.</p>
        ) : (
          <SimpleTable head={["When", "Where", "Policy", "From", "To"]} caption="Verdict changes of this digest">
            {image.history.map((h) => (
              <tr key={h.seq}>
                <td className={`${td} whitespace-nowrap`}><Time iso={h.occurredAt} /></td>
                <td className={td}>
                  {h.clusterName && h.namespace ? (
                    <>
                      <TextLink href={links.namespace(h.clusterName, h.namespace)}>
                        {h.clusterName}/{h.namespace}
                      </TextLink>
                      /{h.workload}
                    </>
                  ) : (
                    `${h.clusterName ?? ""}/${h.namespace ?? ""}/${h.workload ?? ""}`
                  )}
                </td>
                <td className={td}>
                  {h.policyName} {h.policyName && h.policyVersion !== null && (
                    <span className="text-xs">
                      <TextLink href={links.audit({ policy: h.policyName, policyVersion: h.policyVersion })}>v{h.policyVersion}</TextLink>
                    </span>
                  )}
                </td>
                <td className={td}>{h.previousVerdict ? <VerdictBadge verdict={h.previousVerdict} /> : "—"}</td>
                <td className={td}>
                  <VerdictBadge verdict={h.verdict} />
                </td>
              </tr>
            ))}
          </SimpleTable>
        )}
      </Card>
    </AppShell>
  );
}
