import { describe, expect, it } from "vitest";
import { groupsFromClaim, hasRole, parseRoleMap, roleFromGroups } from "@/lib/auth/roles";
import { EnvError, parseEnv } from "@/lib/env";

describe("roles", () => {
  it("orders viewer < auditor < admin", () => {
    expect(hasRole("admin", "auditor")).toBe(true);
    expect(hasRole("auditor", "auditor")).toBe(true);
    expect(hasRole("viewer", "auditor")).toBe(false);
    expect(hasRole(null, "viewer")).toBe(false);
  });

  it("maps OIDC groups to the highest role any of them grants, else the default", () => {
    const map = parseRoleMap("admins=admin, auditors=auditor , platform team=auditor");
    expect([...map]).toEqual([
      ["admins", "admin"],
      ["auditors", "auditor"],
      ["platform team", "auditor"],
    ]);
    expect(roleFromGroups(["auditors", "admins"], map, "viewer")).toBe("admin");
    expect(roleFromGroups(["auditors"], map, "viewer")).toBe("auditor");
    expect(roleFromGroups(["marketing"], map, "viewer")).toBe("viewer");
    expect(roleFromGroups([], map, "none")).toBe("none");
  });

  it("reads groups claims as arrays or space/comma separated strings", () => {
    expect(groupsFromClaim(["a", 1, "b"])).toEqual(["a", "b"]);
    expect(groupsFromClaim("a b,c")).toEqual(["a", "b", "c"]);
    expect(groupsFromClaim(undefined)).toEqual([]);
  });

  it("validates the SSO settings as a whole", () => {
    expect(() => parseEnv({ SIGNET_OIDC_ROLE_MAP: "admins=root" })).toThrow(/SIGNET_OIDC_ROLE_MAP/);
    let error: unknown;
    try {
      parseEnv({ SIGNET_OIDC_ISSUER: "https://idp.example", SIGNET_OIDC_CLIENT_SECRET: "s3cret-value" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvError);
    expect((error as EnvError).problems).toEqual([expect.stringMatching(/^SIGNET_OIDC_CLIENT_ID: is required/)]);
    expect((error as EnvError).message).not.toContain("s3cret-value");
    const env = parseEnv({ SIGNET_OIDC_ISSUER: "https://idp.example", SIGNET_OIDC_CLIENT_ID: "signet", SIGNET_OIDC_CLIENT_SECRET: "x" });
    expect(env.SIGNET_OIDC_DEFAULT_ROLE).toBe("viewer");
    expect(env.SIGNET_OIDC_GROUPS_CLAIM).toBe("groups");
  });
});
