-- A finished scan's items are removed SIGNET_SCAN_ITEMS_KEEP_DAYS after it finished (lib/retention,
-- docs/decisions/0028); the scan says when, so its page tells removed items from a scan that had none.
ALTER TABLE "Scan" ADD COLUMN "itemsRemovedAt" TIMESTAMPTZ(3);
