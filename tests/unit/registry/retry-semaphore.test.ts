import { describe, expect, it } from "vitest";
import { backoffDelay, parseRetryAfter } from "@/lib/registry/retry";
import { Semaphore } from "@/lib/registry/semaphore";
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

describe("Semaphore", () => {
  it("never runs more than its limit at once and runs everything", async () => {
    const s = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active--;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(done).toHaveLength(20);
    expect(s.inFlight).toBe(0);
    expect(() => new Semaphore(0)).toThrow(RangeError);
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
