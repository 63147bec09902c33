/** in-toto statements (v0.1 and v1) carried by DSSE envelopes. */
import { z } from "zod";
import { LIMITS } from "./limits";
import { boundedDigests, boundedRecord, clip, parseJson, parseWith } from "./encoding";
import type { StatementFacts, StatementSubject } from "./types";

export const STATEMENT_V01 = "https://in-toto.io/Statement/v0.1";
export const STATEMENT_V1 = "https://in-toto.io/Statement/v1";

const subjectSchema = z.object({
  name: z.string().max(LIMITS.factChars).optional(),
  digest: z.record(z.string().max(64), z.string().max(1024)),
  annotations: z.record(z.string(), z.unknown()).optional(),
}).loose();

const statementSchema = z.object({
  _type: z.enum([STATEMENT_V01, STATEMENT_V1]),
  predicateType: z.string().min(1).max(LIMITS.factChars),
  subject: z.array(subjectSchema).min(1).max(10_000),
  predicate: z.unknown().optional(),
}).loose();

export interface Statement {
  type: string;
  predicateType: string;
  subjects: Array<z.output<typeof subjectSchema>>;
  predicate: unknown;
}

export function parseStatement(bytes: Buffer): Statement {
  const json = parseWith(statementSchema, parseJson(bytes, "statement", LIMITS.layerBytes), "statement");
  return { type: json._type, predicateType: json.predicateType, subjects: json.subject, predicate: json.predicate };
}

/** The subject whose digest.sha256 equals the image digest ("sha256:<hex>"), if any. */
export function findSubjectForDigest(statement: Statement, imageDigest: string): Statement["subjects"][number] | undefined {
  const hex = imageDigest.startsWith("sha256:") ? imageDigest.slice("sha256:".length) : null;
  if (!hex) return undefined;
  return statement.subjects.find((s) => s.digest.sha256 === hex);
}

export function describeStatement(statement: Statement, imageDigest: string): StatementFacts {
  const subjects: StatementSubject[] = statement.subjects.slice(0, LIMITS.subjectsKept).map((s) => ({
    name: s.name === undefined ? null : clip(s.name, 1024),
    digest: boundedDigests(s.digest),
  }));
  const match = findSubjectForDigest(statement, imageDigest);
  return {
    type: statement.type,
    predicateType: statement.predicateType,
    subjects,
    subjectAnnotations: boundedRecord(match?.annotations),
  };
}
