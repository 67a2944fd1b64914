/**
 * How V8's heap grows in the two processes that move a build context: the one that packs and
 * uploads it (`draft save`, `app deploy`) and the one that hosts the local control plane
 * (`dodil ignite dev`), which receives and lists it. Both have small live heaps (the packer
 * ~14 MB, the plane ~25 MB after a full GC) and fill the young generation with short-lived Buffers
 * for as long as a context streams.
 *
 * Old generation. V8 starts incremental marking as soon as the old generation's room left before
 * its limit is smaller than the young generation (up to 16 MiB a semi-space), since one scavenge
 * could promote that much, and the limit V8 sets after a full GC is about twice the live size: the
 * room stayed under 16 MiB, so V8 marked and compacted the whole heap every 100-150 ms. Measured
 * on the 200 MiB bench tree (bench/README.md): the pack alone did 19-25 Mark-Compacts (7-8 with
 * three times the live size; CPU 6.12 → 5.82 s, 7 runs each), and in 1 save in 3-5 the plane went
 * into 30-37 Mark-Compacts in one upload, 0.5-1 s longer (0-1 in every save with it).
 *
 * Young generation. Streaming makes V8 grow each semi-space from 1 to 16 MiB, and the two of them
 * stay committed: in a 1 GiB pack-and-upload the heap was 53 MB for 17-24 MB of live objects, the
 * peak RSS 158-165 MB against the 150 MB budget of issue 18. A growth factor of 1 keeps the 1 MiB
 * semi-space: peak RSS 137-138 MB (3 runs), heap 22 MB, and no slower (the 200 MiB dry-run pack: 209
 * scavenges instead of 32, CPU 5.43 against 5.46 s, wall 3.49 against 3.64 s, 7 runs each), as
 * Buffers that die young cost a scavenge nothing.
 *
 * Both flags are read each time V8 resizes a space, so they take effect when set at run time; the
 * sizes fixed at start-up (`--initial-old-space-size`, `--max-semi-space-size`) would need node's
 * command line, which `dodil` cannot set for itself without starting a second process.
 */

/** Growth of the old generation's limit over the live size after each full GC, in percent. */
const HEAP_GROWING_PERCENT = 200;

/** Factor by which a semi-space grows when V8 grows the young generation (1: it stays as it is). */
const SEMI_SPACE_GROWTH_FACTOR = 1;

/** Applies both to this process (idempotent; process-wide). */
export async function tuneHeapForStreaming(): Promise<void> {
  // Loaded here, not at start-up: node:v8 costs ~4 ms to load, and most commands never pack.
  const { setFlagsFromString } = await import("node:v8");
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
}
