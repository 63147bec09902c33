import { route } from "@/lib/api/route";
import { listImages } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { imageListDto, imageListQuery } from "@/lib/dto/read";

export const dynamic = "force-dynamic";

/** Running images with filters (cluster, namespace, verdict, registry, signer, search) and paging. */
export const GET = route({ access: "viewer", query: imageListQuery, responses: { 200: imageListDto } }, async ({ query }) => listImages(getDb(), query));
