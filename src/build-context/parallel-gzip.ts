/**
 * Multi-member gzip on several cores, deterministic whatever the core count.
 *
 * The input byte stream (the uncompressed tar) is cut at fixed offsets: every
 * `memberSize` bytes (default 1 MiB) start a new slice, and the last slice holds the
 * rest. Each slice is compressed on its own into a complete gzip member (header,
 * deflate stream, CRC-32 and length trailer), and the members are emitted in slice
 * order. RFC 1952 §2.2 allows a gzip file to be a series of members; gzip, GNU tar,
 * zcat, Python's gzip and Go's compress/gzip (multistream is its default) all read the
 * concatenation as the plain byte stream. An input shorter than one slice gives a single
 * member, i.e. an ordinary one-member gzip file.
 *
 * Every member depends only on its slice's bytes, the level and the fixed header (mtime
 * 0, no name, OS byte 3), so the output is byte-identical for 1, 2 or N compressions in
 * flight: slice boundaries come from byte offsets, never from timing.
 *
 * The compression runs on the libuv thread pool (node:zlib's asynchronous API), not in
 * worker_threads: no extra V8 isolates to start (about 30 ms and 10 MB each), no
 * messages, and the input Buffer is handed to zlib without a copy. The pool has 4 threads
 * unless UV_THREADPOOL_SIZE says otherwise, and other asynchronous fs calls (the archive's
 * writes, the walk's readdirs) run on it too, so the default keeps one thread free for
 * them (see `defaultGzipConcurrency`).
 *
 * Memory is bounded: at most `concurrency + readAhead` slices exist between the
 * producer and the consumer (each one `memberSize` of input plus its compressed output),
 * and the producer is not read while that many are outstanding.
 */
import os from "node:os";
import { gzipMember } from "./gzip-member.js";

/** Uncompressed bytes per gzip member. Part of the determinism contract. */
export const DEFAULT_GZIP_MEMBER_SIZE = 1024 * 1024;

/** Filled slices that may wait for a free compression slot (so reading runs ahead). */
const DEFAULT_READ_AHEAD = 1;
/** Finished input buffers kept for reuse (only one slice is filled at a time). */
const MAX_SPARE = 1;

/**
 * Compressions in flight by default: one more than the cores, at most 3. One more, because a
 * member's deflate runs and the next member's start each wait for the main thread, which also
 * reads the files: with one per core a core idled at every hand-over (the 200 MiB bench tree on
 * 2 cores packed at 1.65 cores, 3.6-4.0 s; with 3 in flight 3.1-3.5 s, bench/README.md). At most
 * 3, so that one of libuv's 4 default pool threads stays free for the file writes and other fs
 * calls.
 */
export function defaultGzipConcurrency(): number {
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.min(cores + 1, 3);
}

export interface ParallelGzipOptions {
  /** zlib level 0-9. */
  level: number;
  /** Uncompressed bytes per member (positive integer). Changing it changes the output. */
  memberSize?: number;
  /** Members compressed at the same time (>= 1). Does not change the output. */
  concurrency?: number;
  /** Filled slices allowed to wait for a compression slot. Does not change the output. */
  readAhead?: number;
  /**
   * Buffers of `memberSize` bytes: `take` supplies slices when the input has to be
   * re-cut, and every full-size input (including ones the source yielded) is given back
   * with `give` once its member is compressed. Default: a private pool of one.
   */
  pool?: BufferPool;
}

/** A small free list of equal-size Buffers. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  give(buf: Buffer): void {
    if (buf.length === this.size && buf.byteOffset === 0 && buf.buffer.byteLength === this.size && this.free.length < this.keep) {
      this.free.push(buf);
    }
  }
}

interface Job {
  input: Buffer;
  settled: boolean;
  started: boolean;
  wait: Promise<Buffer>;
  start: () => void;
}

/** The slices handed over and not yet yielded, in order, at most `concurrency` compressing at once. */
class MemberQueue {
  readonly jobs: Job[] = [];
  private running = 0;

  constructor(
    private readonly level: number,
    private readonly concurrency: number,
    private readonly pool: BufferPool,
  ) {}

  submit(input: Buffer): void {
    let resolve!: (b: Buffer) => void;
    let reject!: (e: unknown) => void;
    const wait = new Promise<Buffer>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    wait.catch(() => {}); // observed when yielded; never unhandled if abandoned
    const job: Job = { input, settled: false, started: false, wait, start: () => {} };
    job.start = () => {
      job.started = true;
      this.running++;
      gzipMember(input, this.level).then(
        (out) => {
          this.settle(job);
          this.pool.give(input);
          resolve(out);
          this.pump();
        },
        (err: unknown) => {
          this.settle(job);
          reject(err);
          this.pump();
        },
      );
    };
    this.jobs.push(job);
    this.pump();
  }

  /** Drops the queued slices; started ones finish on their own. */
  clear(): void {
    this.jobs.length = 0;
  }

  private settle(job: Job): void {
    this.running--;
    job.settled = true;
  }

  private pump(): void {
    for (const job of this.jobs) {
      if (this.running >= this.concurrency) return;
      if (!job.started) job.start();
    }
  }
}

/**
 * Compresses `source` into a series of gzip members (see the file comment). Yields one
 * Buffer per member, in order. If the source throws, the error is rethrown after the
 * compressions already started have been left to finish in the background.
 */
export async function* parallelGzip(
  source: AsyncIterable<Buffer>,
  options: ParallelGzipOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const memberSize = options.memberSize ?? DEFAULT_GZIP_MEMBER_SIZE;
  const concurrency = options.concurrency ?? defaultGzipConcurrency();
  const readAhead = options.readAhead ?? DEFAULT_READ_AHEAD;
  if (!Number.isInteger(memberSize) || memberSize <= 0) throw new RangeError(`gzip member size must be a positive integer, got ${memberSize}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`gzip concurrency must be an integer >= 1, got ${concurrency}`);
  const maxOutstanding = concurrency + Math.max(0, readAhead);
  const pool = options.pool ?? new BufferPool(memberSize, MAX_SPARE);
  const queue = new MemberQueue(options.level, concurrency, pool);
  const jobs = queue.jobs; // filled slices not yet yielded, in order

  let slice: Buffer | undefined;
  let fill = 0;
  try {
    for await (const chunk of source) {
      let off = 0;
      if (fill === 0 && chunk.length === memberSize) {
        // The producer already cut the stream at member boundaries: no copy.
        off = chunk.length;
        queue.submit(chunk);
        while (jobs.length > 0 && (jobs[0]!.settled || jobs.length >= maxOutstanding)) {
          yield await jobs.shift()!.wait;
        }
      }
      while (off < chunk.length) {
        if (!slice) {
          slice = pool.take();
          fill = 0;
        }
        const n = Math.min(memberSize - fill, chunk.length - off);
        chunk.copy(slice, fill, off, off + n);
        fill += n;
        off += n;
        if (fill === memberSize) {
          queue.submit(slice);
          slice = undefined;
          // Hand over what is ready; block the producer only when the queue is full.
          while (jobs.length > 0 && (jobs[0]!.settled || jobs.length >= maxOutstanding)) {
            yield await jobs.shift()!.wait;
          }
        }
      }
    }
    if (slice && fill > 0) queue.submit(slice.subarray(0, fill));
    slice = undefined;
    if (jobs.length === 0) {
      // Empty input: one empty member, so the output is still a valid gzip file.
      yield await gzipMember(Buffer.alloc(0), options.level);
      return;
    }
    while (jobs.length > 0) yield await jobs.shift()!.wait;
  } finally {
    // On an error or an early return, drop queued slices; started ones finish on their own.
    queue.clear();
  }
}
