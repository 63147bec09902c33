import { describe, expect, it } from "vitest";
import { backoffDelay, parseRetryAfter } from "@/lib/registry/retry";
import { bcryptWithSalt, bcryptHash } from "@/tests/support/registry-bcrypt";

describe("retry timing", () => {
  it("parses Retry-After seconds and HTTP dates", () => {
    const now = Date.parse("2026-11-25T10:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter(["0"], now)).toBe(0);
    expect(parseRetryAfter("1.5", now)).toBe(1500);
    expect(parseRetryAfter("Wed, 25 Nov 2026 10:00:07 GMT", now)).toBe(7000);
    expect(parseRetryAfter("Wed, 25 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("backs off exponentially with jitter and a cap", () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(30, 100, 1_000, () => 1)).toBe(1000);
  });
});

describe("test-support bcrypt (htpasswd of the test registry)", () => {
  it("matches published bcrypt vectors", () => {
    expect(bcryptWithSalt("", "$2a$06$DCq7YPn5Rq63x1Lad4cll.")).toBe("$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.");
    expect(bcryptWithSalt("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.")).toBe("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    const h = bcryptHash("pw");
    expect(h).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{53}$/);
    expect(bcryptWithSalt("pw", h)).toBe(h);
    expect(bcryptWithSalt("pX", h)).not.toBe(h);
  });
});
