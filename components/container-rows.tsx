import type { ReactNode } from "react";
import { td, TextLink, VerdictBadge } from "@/components/ui";
import type { ContainerRowDto } from "@/lib/dto/drilldown";
import { shortDigest } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";

/** A container's verdict per policy: the policy (linked), its mode, the verdict and its first reason. */
export function PolicyVerdicts({ verdicts }: { verdicts: ContainerRowDto["verdicts"] }) {
  if (verdicts.length === 0) return <span className="text-xs text-slate-600 dark:text-slate-400">no policy applies</span>;
  return (
    <ul className="space-y-1">
      {verdicts.map((v) => (
        <li key={v.policyId} className="flex flex-wrap items-center gap-1 text-xs">
          <TextLink href={links.policy(v.policyId)}>{v.policy}</TextLink>
          <span className="text-slate-600 dark:text-slate-400">({v.mode})</span>
          <VerdictBadge verdict={v.verdict} />
          {v.verdict !== "verified" && v.reasons[0] && <span className="basis-full break-words text-slate-600 dark:text-slate-400">{v.reasons[0]}</span>}
        </li>
      ))}
    </ul>
  );
}

/** The image a container runs: repository (linked to the image), tag and short digest. */
export function ContainerImage({ c }: { c: ContainerRowDto }) {
  const name = c.image ?? c.imageRef.split("@")[0]!.replace(/:[^/:]*$/, "");
  return (
    <div className="min-w-48">
      {c.imageId ? <TextLink href={links.image(c.imageId)}>{name}</TextLink> : <span>{name}</span>}
      <div className="flex flex-wrap gap-x-2 text-xs text-slate-600 dark:text-slate-400">
        {c.tag && <span data-testid="image-tag">tag {c.tag}</span>}
        {c.digest ? (
          <span className="font-mono" title={c.digest}>
            {shortDigest(c.digest)}
          </span>
        ) : (
          <span>digest unknown</span>
        )}
      </div>
    </div>
  );
}

/** Table rows of containers: name (linked to the container), image, verdicts per policy; `lead` fills a first column. */
export function ContainerRows({ containers, lead }: { containers: ContainerRowDto[]; lead?: (c: ContainerRowDto, i: number) => ReactNode }) {
  return (
    <>
      {containers.map((c, i) => (
        <tr key={c.id} data-testid={`container-${c.pod}-${c.name}`}>
          {lead && <td className={td}>{lead(c, i)}</td>}
          <td className={td}>
            <TextLink href={links.container(c.id)}>{c.name}</TextLink>
            <div className="text-xs text-slate-600 dark:text-slate-400">
              pod {c.pod}
              {c.kind !== "app" ? ` · ${c.kind}` : ""}
            </div>
          </td>
          <td className={td}>
            <ContainerImage c={c} />
          </td>
          <td className={td}>
            <PolicyVerdicts verdicts={c.verdicts} />
          </td>
        </tr>
      ))}
    </>
  );
}
