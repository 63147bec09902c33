import "server-only";
import type { Db } from "@/lib/db/client";
import { childLogger } from "@/lib/log";
import { PUBLIC_GOOD_ID, readPublicGoodSeedBytes } from "@/lib/sigstore/trusted-root";
import { loadFleetPolicies } from "@/lib/trust/load-fleet";
import { computeReminders, type Reminder } from "@/lib/trust/reminders";
import { getTrustSettings } from "@/lib/trust/settings";
import { trustRootItems } from "@/lib/trust/trust-roots";
import { onlyStoredKeys } from "@/lib/policy/compile";

const log = childLogger("trust");

/** Reminders over the database: stored and inline authorities, trusted roots, expired certificates in use. */
export async function getReminders(db: Db, opts: { now?: Date; timeZone?: string } = {}): Promise<Reminder[]> {
  const now = opts.now ?? new Date();
  const [settings, authorities, policies, roots, certs] = await Promise.all([
    getTrustSettings(db),
    db.authority.findMany(),
    loadFleetPolicies(db),
    db.trustedRoot.findMany(),
    db.evidence.findMany({
      where: { status: "valid", signerKind: "keyless", certNotAfter: { lt: now }, tlogIntegratedTime: null, image: { containers: { some: { pod: { deletedAt: null } } } } },
      include: { image: true },
      take: 500,
    }),
  ]);
  const inline = policies.flatMap((p) =>
    p.spec.authorities.filter((a) => !onlyStoredKeys(a)).map((a) => ({ key: `policy:${p.name}/${a.name}`, name: `${p.name}/${a.name}`, status: a.status, rotateBy: null, validUntil: a.validUntil ?? null })),
  );
  const trustRoots = roots.flatMap((r) => trustRootItems(r.name, r.document));
  if (!roots.some((r) => r.name === PUBLIC_GOOD_ID)) {
    try {
      trustRoots.push(...trustRootItems(PUBLIC_GOOD_ID, JSON.parse(readPublicGoodSeedBytes().toString("utf8"))));
    } catch (err) {
      log.warn({ err: (err as Error).message }, "public-good trusted root unreadable");
    }
  }
  return computeReminders({
    now,
    timeZone: opts.timeZone,
    reminderDays: settings.reminderDays,
    authorities: [
      ...authorities.map((a) => ({ key: `stored:${a.name}`, name: a.name, status: a.status, rotateBy: a.rotateBy, validUntil: a.validUntil })),
      ...inline,
    ],
    trustRoots,
    certificates: certs.map((e) => ({
      imageName: `${e.image.registry}/${e.image.repository}`,
      digest: e.image.digest,
      identity: e.certIdentity ?? "",
      issuer: e.certIssuer ?? "",
      notAfter: e.certNotAfter!,
      integratedTime: e.tlogIntegratedTime,
    })),
  });
}
