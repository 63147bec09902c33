import type { Page } from "playwright-core";
import { waitFor } from "@/tests/support/process";

/** The one-time setup link a starting Signet prints while no user exists. */
export async function waitForSetupLink(output: () => string, timeoutMs = 60_000): Promise<string> {
  return waitFor(async () => output().match(/https?:\/\/[^\s"]+\/setup\?token=[\w-]+/)?.[0], timeoutMs, "the setup link in the server log");
}

/** Opens the setup link and creates the first administrator; ends on the overview. */
export async function createFirstAdmin(page: Page, link: string, admin: { name: string; email: string; password: string }): Promise<void> {
  await page.goto(link);
  await page.locator('input[name="name"]').fill(admin.name);
  await page.locator('input[name="email"]').fill(admin.email);
  await page.locator('input[name="password"]').fill(admin.password);
  await page.locator('input[name="confirm"]').fill(admin.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await page.getByTestId("signed-in-user").waitFor();
}

/** Signs in on the sign-in page; ends on the overview. */
export async function signInInBrowser(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await page.getByTestId("signed-in-user").waitFor();
}
