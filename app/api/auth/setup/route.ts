import { NextResponse } from "next/server";
import { route } from "@/lib/api/route";
import { getAuth, runAuthRequest } from "@/lib/auth/auth";
import { completeSetup, setupSchema } from "@/lib/auth/setup";
import { SETUP_PER_ADDRESS, takeAddressAttempt } from "@/lib/auth/throttle";
import { getDb } from "@/lib/db/client";
import { clientAddressOf } from "@/lib/net/client-address";

export const dynamic = "force-dynamic";

/**
 * Creates the first administrator from a one-time setup link (public: the token is the credential),
 * then signs them in. Refused once any user exists.
 */
export const POST = route({ access: "public", body: setupSchema }, async ({ req, body }) => {
  await takeAddressAttempt(getDb(), clientAddressOf(req.headers), SETUP_PER_ADDRESS);
  const user = await completeSetup(getDb(), body);
  const signedIn = await runAuthRequest(() =>
    getAuth().api.signInEmail({ body: { email: body.email, password: body.password }, headers: req.headers, returnHeaders: true }),
  );
  const res = NextResponse.json({ user }, { status: 201 });
  for (const cookie of signedIn.headers.getSetCookie()) res.headers.append("set-cookie", cookie);
  return res;
});
