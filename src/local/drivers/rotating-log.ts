/**
 * An instance's output.log with a bounded size: when a write would take it past `maxBytes`, the
 * file becomes output.log.1 (replacing the previous one) and a new output.log starts, so one
 * instance keeps at most 2 × maxBytes of output on disk however much it prints.
 *
 * Writes are synchronous appends to an open descriptor: a chunk of a child's output is at most a
 * pipe buffer (64 KiB) and goes to the page cache, and a rename between two writes is then exact
 * (an asynchronous stream opens its file later and may still be writing when the file is renamed).
 * A write that fails (disk full, directory removed with the app) drops that chunk: losing output is
 * better than stopping the plane from an output handler.
 */
import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";

/** Size at which an instance's output.log is rotated (documented in docs/local-control-plane-surface.md). */
export const MAX_INSTANCE_LOG_BYTES = 10 * 1024 * 1024;

export class RotatingLog {
  private fd: number | undefined;
  private size = 0;

  constructor(
    private readonly file: string,
    private readonly maxBytes = MAX_INSTANCE_LOG_BYTES,
  ) {
    this.open();
  }

  private open(): void {
    try {
      this.fd = openSync(this.file, "a", 0o600);
      this.size = fstatSync(this.fd).size;
    } catch {
      this.fd = undefined;
    }
  }

  write(chunk: Buffer | string): void {
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.size > 0 && this.size + data.length > this.maxBytes) this.rotate();
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, data);
      this.size += data.length;
    } catch {
      // dropped, see above
    }
  }

  private rotate(): void {
    this.close();
    try {
      renameSync(this.file, `${this.file}.1`);
    } catch {
      // the instance dir is gone: open() below fails too and output is dropped
    }
    this.open();
  }

  private close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }

  end(): void {
    this.close();
  }
}
