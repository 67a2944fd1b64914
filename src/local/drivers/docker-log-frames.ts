/**
 * The Docker Engine API's multiplexed log stream of a container without a TTY: frames of an 8-byte
 * header (stream type in byte 0: 1 stdout, 2 stderr; payload size big-endian in bytes 4-7) and the
 * payload. The size comes from the other side of a socket, so it is bounded: a frame may carry at
 * most MAX_FRAME_BYTES (dockerd writes at most 16 KiB per log message; podman's compat service
 * about as much), and a larger declared size is not waited for (that would hold up to 4 GiB in
 * memory) but ends the stream as corrupt, with what was parsed so far kept.
 */
export const MAX_FRAME_BYTES = 1024 * 1024;

export type FrameStream = "stdout" | "stderr";

export class LogFrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private broken = false;

  /** Feeds a chunk; calls `emit` for each whole frame. False once the stream is corrupt (stop reading). */
  push(chunk: Buffer, emit: (stream: FrameStream, payload: Buffer) => void): boolean {
    if (this.broken) return false;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const kind = this.buf[0];
      const size = this.buf.readUInt32BE(4);
      if ((kind !== 0 && kind !== 1 && kind !== 2) || size > MAX_FRAME_BYTES) {
        this.broken = true;
        this.buf = Buffer.alloc(0);
        return false;
      }
      if (this.buf.length < 8 + size) break;
      emit(kind === 2 ? "stderr" : "stdout", this.buf.subarray(8, 8 + size));
      this.buf = this.buf.subarray(8 + size);
    }
    return true;
  }
}
