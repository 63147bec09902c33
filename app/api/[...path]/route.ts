import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";

export const dynamic = "force-dynamic";

/** Any /api path no route matches: 404 in the error envelope (not Next's HTML page), whatever the method. */
const notFound = route({ access: "public" }, async () => {
  throw new ApiError("not_found", "No such API endpoint.");
});

export const GET = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;
