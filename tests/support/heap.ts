import { randomBytes } from "node:crypto";
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/**
 * Whether any string on this process's heap contains `needle` after a full collection: a heap
 * snapshot's strings, searched as bytes. The needle is a Buffer so that the search puts no such string
 * on the heap itself; it must sit at the start of the strings looked for (a snapshot keeps a string's
 * first 1,024 characters). What keeps a value alive: tests that it is let go.
 */
export async function heapHolds(needle: Buffer): Promise<boolean> {
  gc();
  const snapshot = v8.getHeapSnapshot();
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of snapshot) {
      const buf = Buffer.concat([tail, chunk as Buffer]);
      if (buf.includes(needle)) return true;
      tail = buf.subarray(Math.max(0, buf.length - needle.length + 1));
    }
    return false;
  } finally {
    snapshot.destroy();
  }
}

/** A 20-hex-digit marker, as bytes (see heapHolds): `marker.toString("latin1")` puts it in a string. */
export const heapMarker = (): Buffer => Buffer.from(randomBytes(10).toString("hex"), "latin1");
