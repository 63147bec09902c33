import { TextLink } from "@/components/ui";
import { signerName } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";

/** A signer by its one name, linked to its authority on the Keys page; untrusted signers are named as such. */
export function Signer({ signer, names }: { signer: string; names: Readonly<Record<string, string>> }) {
  const name = names[signer];
  if (!name)
    return (
      <span title={signer} className="break-all text-amber-800 dark:text-amber-300" data-testid="signer-untrusted">
        {signerName(signer, names)}
      </span>
    );
  return (
    <span title={signer} data-testid="signer">
      <TextLink href={links.authority(name)}>{name}</TextLink>
    </span>
  );
}

/**
 * The signers of an image, or why there are none: "unsigned" when the registry holds no signature,
 * "no trusted signer" when the registry holds evidence and none of it verifies with what a policy trusts.
 */
export function SignerList({ signers, names, discovery }: { signers: string[]; names: Readonly<Record<string, string>>; discovery: string }) {
  if (signers.length === 0)
    return (
      <span className="text-xs text-slate-600 dark:text-slate-400" data-testid="no-trusted-signer">
        {discovery === "found" ? "no trusted signer" : discovery === "none" ? "no signature" : discovery === "error" ? "unknown (registry error)" : "not checked yet"}
      </span>
    );
  return (
    <ul className="text-xs">
      {signers.map((s) => (
        <li key={s}>
          <Signer signer={s} names={names} />
        </li>
      ))}
    </ul>
  );
}
