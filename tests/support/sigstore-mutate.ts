/**
 * Mutations of discovered artifacts for negative tests: each returns a deep copy with exactly one
 * security-relevant change, and recomputes the layer digest when the bytes change (an attacker serving
 * different bytes also serves a matching descriptor).
 */
import { createHash } from "node:crypto";
import type { DiscoveredArtifact, DiscoveredLayer } from "@/lib/evidence/types";

export function cloneArtifacts(artifacts: readonly DiscoveredArtifact[]): DiscoveredArtifact[] {
  return artifacts.map((a) => ({
    ...a,
    annotations: { ...a.annotations },
    layers: a.layers.map((l) => ({ ...l, annotations: { ...l.annotations }, content: l.content ? Buffer.from(l.content) : undefined })),
  }));
}

export function setContent(layer: DiscoveredLayer, content: Buffer): void {
  layer.content = content;
  layer.size = content.length;
  layer.digest = `sha256:${createHash("sha256").update(content).digest("hex")}`;
}

/** XOR one byte (default: the last) of a buffer. */
export function flip(buf: Buffer, index = buf.length - 1, mask = 0x01): Buffer {
  const out = Buffer.from(buf);
  const i = ((index % out.length) + out.length) % out.length;
  out[i] = (out[i] ?? 0) ^ mask;
  return out;
}

export const flipB64 = (b64: string, index?: number, mask?: number) => flip(Buffer.from(b64, "base64"), index, mask).toString("base64");

/** Edits a JSON annotation in place. */
export function editJsonAnnotation(layer: DiscoveredLayer, key: string, edit: (json: any) => void): void {
  const json = JSON.parse(layer.annotations[key] as string);
  edit(json);
  layer.annotations[key] = JSON.stringify(json);
}

/** Edits a JSON layer blob (DSSE envelope, Sigstore bundle) and recomputes its digest. */
export function editJsonContent(layer: DiscoveredLayer, edit: (json: any) => void): void {
  const json = JSON.parse((layer.content as Buffer).toString("utf8"));
  edit(json);
  setContent(layer, Buffer.from(JSON.stringify(json)));
}

export function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
}

export function derToPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
}
