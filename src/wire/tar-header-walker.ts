/**
 * A tar header walker for the listing made while an upload arrives: it reads only the headers
 * (and PAX records) and steps over the bodies, so listing a 200 MB context costs its inflate and
 * little else (node-tar's parser, which streams every body through an entry object, added ~0.3 s
 * of the plane's CPU per 200 MB; bench/save-speed.mjs).
 *
 * It is deliberately narrow. It knows the ustar and GNU magic, the types a build context holds
 * (file, directory, symlink, hard link) and PAX `x` records with the keys our packer and common
 * tars write, and it reads every field the way node-tar does (tar/dist/esm/header.js, pax.js).
 * Anything else - another type, a GNU long name, a global PAX header, base-256 numbers, a bad
 * checksum, a PAX record that is not UTF-8 or that node-tar would skip, a missing end marker, data after
 * a lone zero block - makes it give up (`unclean`), and the caller lists the stored file with
 * `inspectArchive` (node-tar) instead, whose answer is the authoritative one. The walker never
 * decides that an archive is bad, only whether it could list it the same way. The build's own
 * extraction inspects the archive again through node-tar in any case.
 */
import { Writable } from "node:stream";

const BLOCK = 512;
/** node-tar's maxMetaEntrySize in our listings: larger PAX records are not read. */
const MAX_PAX_BYTES = 64 * 1024;
/** PAX keys that change nothing in a listing; any other key makes the walker give up. */
const INERT_PAX_KEYS = new Set(["mtime", "atime", "ctime", "uid", "gid", "uname", "gname", "mode", "charset", "comment"]);

/** What one entry's header says, in node-tar's terms (the Collector's input). */
export interface WalkedEntry {
  path: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link";
  size: number;
  linkpath?: string;
}

interface Pax {
  path?: string;
  linkpath?: string;
  size?: number;
}

/** node-tar's decString: the field as UTF-8, cut at its first NUL. */
function field(b: Buffer, off: number, len: number): string {
  return b.toString("utf8", off, off + len).replace(/\0.*/s, "");
}

/** An octal number field that ends in a NUL or space within its width, or undefined. */
function octal(b: Buffer, off: number, len: number): number | undefined {
  const s = b.toString("latin1", off, off + len);
  const m = /^ *([0-7]{1,11})[\0 ]/.exec(s);
  return m ? parseInt(m[1]!, 8) : undefined;
}

function checksumOk(h: Buffer): boolean {
  const stored = octal(h, 148, 8);
  if (stored === undefined) return false;
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += h[i]!;
  for (let i = 156; i < BLOCK; i++) sum += h[i]!;
  return sum === stored;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** PAX records as node-tar reads them, or undefined where it would read them otherwise or skip one. */
function parsePax(body: Buffer): Pax | undefined {
  const text = body.toString("utf8");
  if (text.includes("\ufffd")) return undefined; // not UTF-8: node-tar would read replacement characters
  const pax: Pax = {};
  for (const line of text.replace(/\n$/, "").split("\n")) {
    const n = parseInt(line, 10);
    if (n !== Buffer.byteLength(line) + 1) return undefined;
    const kv = line.slice(`${n} `.length);
    const eq = kv.indexOf("=");
    if (eq <= 0) return undefined;
    const key = kv.slice(0, eq);
    const value = kv.slice(eq + 1).replace(/\0.*/s, "");
    if (key === "path" || key === "linkpath") pax[key] = value;
    else if (key === "size") {
      if (!/^[0-9]{1,15}$/.test(value)) return undefined;
      pax.size = Number(value);
    } else if (!INERT_PAX_KEYS.has(key)) return undefined;
  }
  return pax;
}

/**
 * A Writable of tar bytes that reports each entry to `onEntry` (which may throw to refuse it) and
 * calls `onUnclean` once if it cannot list the archive the way node-tar would (see the file comment).
 */
export class TarHeaderWalker extends Writable {
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Body and padding bytes still to step over. */
  private skip = 0;
  /** A PAX body being read (its padded length), and the record it gives the next header. */
  private paxBody: Buffer | undefined;
  private paxFill = 0;
  private pax: Pax | undefined;
  private zeroBlocks = 0;
  private ended = false;
  /** Why the walker gave up, once it has. */
  private gaveUp: string | false = false;
  private entries = 0;

  constructor(
    private readonly onEntry: (e: WalkedEntry) => void,
    private readonly onUnclean: (why: string) => void,
  ) {
    super();
  }

  // The stream fails once the walker gives up or an entry is refused, so its pipeline ends.
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      this.consume(chunk);
      done(this.gaveUp ? new Error(`tar listing left to node-tar: ${this.gaveUp}`) : null);
    } catch (err) {
      done(err as Error);
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.ended) this.giveUp(this.entries === 0 ? "no tar header" : "the stream ends before the end-of-archive blocks");
    done(this.gaveUp ? new Error(`tar listing left to node-tar: ${this.gaveUp}`) : null);
  }

  private giveUp(why: string): void {
    if (this.gaveUp) return;
    this.gaveUp = why;
    this.onUnclean(why);
  }

  private consume(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.gaveUp && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        this.skip -= n;
        off += n;
      } else if (this.paxBody) {
        const n = Math.min(this.paxBody.length - this.paxFill, chunk.length - off);
        chunk.copy(this.paxBody, this.paxFill, off, off + n);
        this.paxFill += n;
        off += n;
        if (this.paxFill === this.paxBody.length) this.endPax();
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.block(this.header);
        }
      }
    }
  }

  private paxSize = 0;

  private endPax(): void {
    const pax = parsePax(this.paxBody!.subarray(0, this.paxSize));
    this.paxBody = undefined;
    this.paxFill = 0;
    if (!pax) return this.giveUp("a PAX record node-tar reads differently");
    this.pax = pax;
  }

  /** One 512-byte header block. */
  private block(h: Buffer): void {
    if (isZeroBlock(h)) {
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) this.ended = true;
      if (this.pax) this.giveUp("a PAX record before the end marker");
      return;
    }
    if (this.zeroBlocks > 0) return this.giveUp("a header after a zero block");
    const magic = h.toString("latin1", 257, 265);
    const posix = magic === "ustar\u000000";
    if (!posix && magic !== "ustar  \0") return this.giveUp("not a ustar or GNU header");
    if (h[124]! & 0x80) return this.giveUp("a base-256 size");
    if (!checksumOk(h)) return this.giveUp("a bad header checksum");
    const headerSize = octal(h, 124, 12);
    if (headerSize === undefined) return this.giveUp("an unreadable size");
    const flag = field(h, 156, 1);
    if (flag === "x") return this.startPax(h, headerSize);
    this.entry(h, flag, headerSize, posix);
  }

  private startPax(h: Buffer, size: number): void {
    if (this.pax) return this.giveUp("two PAX records in a row");
    if (size > MAX_PAX_BYTES || size === 0) return this.giveUp("a PAX record node-tar would not read");
    if (field(h, 0, 100) === "") return this.giveUp("a PAX header without a name");
    this.paxSize = size;
    this.paxBody = Buffer.alloc(Math.ceil(size / BLOCK) * BLOCK);
  }

  private entry(h: Buffer, flag: string, headerSize: number, posix: boolean): void {
    const pax = this.pax;
    this.pax = undefined;
    let type: WalkedEntry["type"];
    if (flag === "0" || flag === "") type = "File"; // node-tar reads a NUL type as "0"
    else if (flag === "5") type = "Directory";
    else if (flag === "2") type = "SymbolicLink";
    else if (flag === "1") type = "Link";
    else return this.giveUp(`entry type '${flag}'`);
    // As node-tar's Header: the name (or PAX path) decides "a file ending in / is a directory"
    // before the ustar prefix is put in front, and a PAX path replaces the whole path at the end.
    const name = pax?.path ?? field(h, 0, 100);
    if (type === "File" && name.endsWith("/")) type = "Directory";
    let path = name;
    if (posix) {
      // A 155-byte prefix unless byte 475 is NUL (then 130 bytes: GNU's atime/ctime follow).
      const prefix = h[475] !== 0 ? field(h, 345, 155) : field(h, 345, 130);
      if (prefix) path = `${prefix}/${path}`;
    }
    if (pax?.path !== undefined) path = pax.path;
    const ustarLink = field(h, 157, 100);
    const link = type === "SymbolicLink" || type === "Link";
    if (!path) return this.giveUp("an entry without a path");
    if (link && !ustarLink) return this.giveUp("a link without a target");
    if (!link && (ustarLink || pax?.linkpath !== undefined)) return this.giveUp("a link target on an entry that is not a link");
    // node-tar lists a PAX size even where the header's is forced to 0 (a directory).
    if (type === "Directory" && pax?.size !== undefined) return this.giveUp("a PAX size on a directory");
    const size = type === "Directory" ? 0 : (pax?.size ?? headerSize);
    if (link && size !== 0) return this.giveUp("a link with a body");
    this.entries++;
    const linkpath = link ? (pax?.linkpath ?? ustarLink) : undefined;
    this.onEntry({ path, type, size, ...(linkpath !== undefined ? { linkpath } : {}) });
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
  }
}
