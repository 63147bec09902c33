import fs from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { CredentialConfigError, credentialsFromDockerConfig, credentialsFromPullSecret, type CredentialProvider } from "@/lib/registry/credentials";

/** Reads a docker config.json, or a Kubernetes pull secret (JSON or YAML), for the CLI commands. */
export async function loadCredentialsFile(file: string): Promise<CredentialProvider> {
  const text = await fs.readFile(file, "utf8");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    try {
      doc = parseYaml(text);
    } catch {
      throw new CredentialConfigError(`${file} is neither JSON nor YAML`);
    }
  }
  const obj = (doc ?? {}) as Record<string, unknown>;
  if (obj.kind === "Secret" || (obj.data && !obj.auths)) return credentialsFromPullSecret(doc);
  return credentialsFromDockerConfig(doc);
}
