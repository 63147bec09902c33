import { SimpleTable, td, TextLink, VerdictBadge } from "@/components/ui";
import type { VerdictValueDto } from "@/lib/dto/read";
import { links } from "@/lib/ui/links";

/** A running container a policy does not verify, with the first reason of its verdict. */
export interface NotVerifiedContainer {
  /** Null where the cluster is not known (an imported policy whose source cluster is unset). */
  cluster: string | null;
  namespace: string;
  /** "Kind/name" (bare pods "Pod/<name>"). */
  workload: string;
  containerId: string;
  image: string;
  imageId: string | null;
  verdict: VerdictValueDto;
  reason: string | null;
}

/**
 * The one table of running containers a policy does not verify: the policy page's "what would break if
 * enforced" and its drift's "running, though the policy would deny it now". Each row links to its
 * namespace, workload, container and image.
 */
export function NotVerifiedContainers({ rows, caption, rowTestId, imageTestId }: { rows: readonly NotVerifiedContainer[]; caption: string; rowTestId?: string; imageTestId?: string }) {
  return (
    <SimpleTable head={["Where", "Image", "Verdict", "Reason"]} caption={caption}>
      {rows.map((w) => (
        <tr key={w.containerId} data-testid={rowTestId}>
          <td className={td}>
            {w.cluster ? (
              <>
                <TextLink href={links.namespace(w.cluster, w.namespace)}>
                  {w.cluster}/{w.namespace}
                </TextLink>
                /<TextLink href={links.workload(w.cluster, w.namespace, w.workload)}>{w.workload}</TextLink>/
              </>
            ) : (
              `${w.namespace}/${w.workload}/`
            )}
            <TextLink href={links.container(w.containerId)}>container</TextLink>
          </td>
          <td className={`${td} min-w-48 break-all text-xs`}>
            {w.imageId ? (
              <TextLink href={links.image(w.imageId)} testId={imageTestId}>
                {w.image}
              </TextLink>
            ) : (
              w.image
            )}
          </td>
          <td className={td}>
            <VerdictBadge verdict={w.verdict} />
          </td>
          <td className={`${td} text-xs`}>{w.reason}</td>
        </tr>
      ))}
    </SimpleTable>
  );
}
