import { describe, expect, it } from "vitest";
import { formatBytes, readFormErrors } from "@/lib/ui/field-errors";

const env = (code: string, message: string, details?: unknown) => ({ error: { code, message, details } });

describe("readFormErrors: the API's error envelope as a form shows it", () => {
  it("puts zod issues next to their inputs, through the body → input map, in words", () => {
    const r = readFormErrors(
      env("validation_failed", "The request is not valid.", [
        { path: "publicKeyPem", message: "Invalid input: expected string, received undefined" },
        { path: "name", message: "Too small: expected string to have >=3 characters" },
        { path: "extra.deep", message: "Unrecognized key" },
      ]),
      { fieldOf: { publicKeyPem: "pem" }, inputs: ["name", "pem", "owner"], fallback: "failed" },
    );
    expect(r.fields).toEqual({ pem: "Required.", name: "At least 3 characters." });
    expect(r.other).toEqual(["extra.deep: Unrecognized key"]);
    expect(r.message).toBe("Check the fields marked below.");
  });

  it("a domain error naming its field ({ field }) goes under that field with its own message", () => {
    const r = readFormErrors(env("validation_failed", "The webhook URL is refused: loopback address.", { field: "url" }), { inputs: ["name", "url"], fallback: "failed" });
    expect(r.fields).toEqual({ url: "The webhook URL is refused: loopback address." });
    expect(r.message).toBe("The webhook URL is refused: loopback address.");
  });

  it("nested paths reach an input by their last segment; problem strings 'path: message' too", () => {
    const r = readFormErrors(env("validation_failed", "The request is not valid.", [{ path: "tuf.mirrorUrl", message: "Invalid URL" }, "spec.mode: Invalid option"]), {
      inputs: ["name", "mirrorUrl"],
      fallback: "failed",
    });
    expect(r.fields).toEqual({ mirrorUrl: "Not a valid URL." });
    expect(r.other).toEqual(["spec.mode: Invalid option"]);
  });

  it("too large bodies, better-auth's { message } and unreadable answers", () => {
    expect(readFormErrors(env("payload_too_large", "x", { limit: 2 * 1024 * 1024 }), { inputs: [], fallback: "f" }).message).toBe("Too large: at most 2 MiB can be sent.");
    expect(readFormErrors({ message: "User already exists" }, { inputs: [], fallback: "f" }).message).toBe("User already exists");
    expect(readFormErrors(null, { inputs: ["a"], fallback: "The request failed." })).toEqual({ message: "The request failed.", fields: {}, other: [] });
    expect(readFormErrors(env("validation_failed", "The request is not valid.", [{ path: "rotateBy", message: "Invalid input: expected date, received Date" }]), { inputs: ["rotateBy"], fallback: "f" }).fields).toEqual({
      rotateBy: "Not a valid date: write it as YYYY-MM-DD.",
    });
    expect(formatBytes(3 * 1024 * 1024)).toBe("3 MiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
  });
});
