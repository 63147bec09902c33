-- Every scan rewrites each running container's verdicts (evaluatedAt) and each running image's row
-- (lastSeen, verifiedAt, verification hash): with full pages each of those updates is a new tuple on
-- another page plus an entry in every index (four on Verdict, ten on Image, two of them GIN). Half-full
-- pages let PostgreSQL update them in place (HOT: none of those columns is indexed), so a rescan's
-- writes touch no index. Measured on the 20,000-pod rescan (issue 18): Verdict updates 0.6 % → 100 %
-- HOT, Image 4 % → 91 %, the image checks' evaluation and store time down about a third. Pages already
-- written are filled anew as they are rewritten (or after VACUUM FULL); twice the heap for these two tables.
ALTER TABLE "Verdict" SET (fillfactor = 50);
ALTER TABLE "Image" SET (fillfactor = 50);
