import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { listImageFacets, listImages } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { imageListQuery } from "@/lib/dto/read";
import { authorityNames } from "@/lib/trust/inventory";
import { firstValues } from "@/lib/ui/search-params";
import { ImagesClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Images" };

export default async function ImagesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireUser();
  const raw = firstValues(await searchParams);
  const parsed = imageListQuery.safeParse(raw);
  const query = parsed.success ? parsed.data : imageListQuery.parse({});
  const db = getDb();
  const [initial, facets, signerNames] = await Promise.all([listImages(db, query), listImageFacets(db), authorityNames(db)]);
  return (
    <AppShell current="/images">
      <PageHeader
        title="Images"
        description="Every image running in your clusters, with its verdict, signers and where it runs. Filters, sorting and paging run on the server; the export follows the current filter."
      />
      <div className="mt-6">
        <ImagesClient initialQuery={query} initial={initial} facets={facets} signerNames={signerNames} />
      </div>
    </AppShell>
  );
}
