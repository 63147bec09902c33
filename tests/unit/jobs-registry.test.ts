import { describe, expect, it } from "vitest";
import { z } from "zod";
import { allJobs } from "@/lib/jobs/definitions";
import { defineJob } from "@/lib/jobs/registry";

describe("job registry", () => {
  it("has unique, well-formed names and a schema and handler for each job", () => {
    const names = allJobs.map((j) => j.name);
    expect(new Set(names).size).toBe(names.length);
    for (const job of allJobs) {
      expect(job.name).toMatch(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/);
      expect(typeof job.handler).toBe("function");
      expect(typeof job.schema.safeParse).toBe("function");
    }
  });

  it("rejects badly named jobs", () => {
    expect(() => defineJob({ name: "Bad Name", schema: z.object({}), handler: async () => undefined })).toThrow(/dotted lower-case/);
  });
});
