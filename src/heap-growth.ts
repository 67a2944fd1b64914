/**
 * How fast V8's old generation may grow, for the two processes that move a build context: the
 * one that packs and uploads it (`draft save`, `app deploy`) and the one that hosts the local
 * control plane (`dodil ignite dev`), which receives and lists it.
 *
 * Why: V8 starts incremental marking as soon as the old generation's room left before its limit
 * is smaller than the young generation (up to 16 MiB a semi-space), since one scavenge could
 * promote that much. Both processes have small live heaps (the packer ~14 MB, the plane ~25 MB
 * after a full GC) and fill the young generation with Buffers for as long as a context streams,
 * and the limit V8 sets after a full GC is about twice the live size: the room stays under 16 MiB,
 * so V8 marked and compacted the whole heap every 100-150 ms. Measured on the 200 MiB bench tree
 * (bench/README.md): the pack alone did 19-25 Mark-Compacts (7-8 with this setting; CPU 6.12 →
 * 5.82 s, 7 runs each), and in 1 save in 3-5 the plane went into 30-37 Mark-Compacts in one upload,
 * 0.5-1 s longer (0-1 in every save with it). Three times the live size after each full GC keeps
 * the room above the young generation.
 *
 * `--heap-growing-percent` is read each time V8 sets the limit, so it takes effect when set at run
 * time; the sizes fixed at start-up (`--initial-old-space-size`, the semi-space) would need node's
 * command line, which `dodil` cannot set for itself without starting a second process.
 */

/** Growth of the old generation's limit over the live size after each full GC, in percent. */
const HEAP_GROWING_PERCENT = 200;

/** Applies the growth to this process (idempotent; process-wide). */
export async function growHeapForStreaming(): Promise<void> {
  // Loaded here, not at start-up: node:v8 costs ~4 ms to load, and most commands never pack.
  const { setFlagsFromString } = await import("node:v8");
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
