/**
 * The listing of a tar or tar.gz made while its bytes arrive (UploadBuildContext), with the same
 * checks and limits as `inspectArchive` in archive.ts, whose pieces it uses.
 */
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Collector, gunzip, inspectArchive, isTarHeader, limitsOf, listingMeter, type ArchiveInfo, type ArchiveKind, type ArchiveLimits } from "./archive.js";
import { TarHeaderWalker } from "./tar-header-walker.js";

/**
 * Lists a tar or tar.gz while its bytes arrive (an upload), so the listing is ready when the last
 * byte is instead of costing a second pass over the stored file afterwards. It is an optimisation
 * only: `finish` returns the streamed listing when the stream was a tar or tar.gz that listed
 * cleanly, and otherwise (zip, a plain file, any failure) inspects the complete file with
 * `inspectArchive`, which gives the authoritative answer and error for everything else.
 */
export class ArchiveStreamInspector {
  private head: Buffer[] = [];
  private headBytes = 0;
  private input: PassThrough | undefined;
  private listing: Promise<boolean> | undefined;
  private readonly collector: Collector;
  private deferred = false;

  constructor(private readonly limits: ArchiveLimits = {}) {
    this.collector = new Collector(limitsOf(limits));
  }

  /** Feeds the next bytes; false means wait for `drain` before writing more. */
  write(chunk: Uint8Array): boolean {
    if (this.deferred) return true;
    if (!this.input) {
      this.head.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.headBytes += chunk.byteLength;
      if (this.headBytes < 512) return true;
      this.start();
      return this.deferred ? true : this.flushHead();
    }
    return this.input.write(chunk);
  }

  /** Resolves when the inspector can take more bytes. */
  drain(): Promise<void> {
    const input = this.input;
    if (!input || this.deferred || !input.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        input.off("drain", done);
        input.off("close", done);
        resolve();
      };
      input.on("drain", done);
      input.on("close", done);
    });
  }

  /** Ends the stream and returns the listing of `file` (the same bytes, complete on disk). */
  async finish(file: string, singleFileName?: string): Promise<ArchiveInfo> {
    if (!this.input && !this.deferred && this.headBytes >= 512) this.start();
    if (this.input && !this.deferred) {
      this.input.end();
      if (await this.listing) return { kind: this.kind, entries: this.collector.entries, totalSize: this.collector.totalSize };
    }
    return inspectArchive(file, { ...this.limits, ...(singleFileName ? { singleFileName } : {}) });
  }

  /** Stops listing (the upload failed). */
  abort(): void {
    this.deferred = true;
    this.input?.destroy();
  }

  private kind: ArchiveKind = "tar";

  private start(): void {
    const b = Buffer.concat(this.head);
    this.head = [b];
    const zip = b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);
    const gz = b[0] === 0x1f && b[1] === 0x8b;
    if (zip || (!gz && !isTarHeader(b.subarray(0, 512)))) {
      this.deferred = true;
      this.head = [];
      return;
    }
    this.kind = gz ? "tar.gz" : "tar";
    const input = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    this.input = input;
    // A failed listing destroys the input; the pipeline reports it, later writes are ignored.
    input.on("error", () => undefined);
    const c = this.collector;
    let failed = false;
    // Once the walker cannot list the archive as node-tar would, or the collector refuses an
    // entry, the walker fails its pipeline and the rest of the upload is not inflated here:
    // `finish` inspects the stored file.
    const stop = () => {
      failed = true;
      this.deferred = true;
    };
    const walker = new TarHeaderWalker((e) => {
      try {
        c.add(e.path, e.type, e.size, e.linkpath);
      } catch (err) {
        stop();
        throw err;
      }
    }, stop);
    // A gzip stream holds a tar only if its first inflated block is a tar header: the walker gives up otherwise.
    const listed = gz ? pipeline(input, gunzip(), listingMeter(c), walker) : pipeline(input, listingMeter(c), walker);
    this.listing = listed.then(
      () => !failed,
      () => false,
    );
    void this.listing.then((ok) => {
      if (!ok) this.deferred = true;
    });
  }

  private flushHead(): boolean {
    let ok = true;
    for (const h of this.head) ok = this.input!.write(h);
    this.head = [];
    return ok;
  }
}
