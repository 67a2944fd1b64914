import { deflateRawSync, crc32 } from "node:zlib";

/** One zip entry as written; the `declared*` fields let a test make the directory lie. */
export interface ZipSpec {
  name: string;
  data: Buffer;
  /** 8 = deflate (default), 0 = stored. */
  method?: 0 | 8;
  /** What the headers say the entry inflates to (default: the truth). */
  declaredSize?: number;
  declaredCrc?: number;
  /** Unix mode in the external attributes (e.g. 0o120777 for a symlink). */
  mode?: number;
}

/** A zip archive built byte by byte, so its headers can say anything (lying sizes, CRCs, types). */
export function buildZip(entries: ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name, "utf8");
    const size = e.declaredSize ?? e.data.length;
    const crc = e.declaredCrc ?? crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by: unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** One tar entry as written; `declaredSize` makes the header lie about the body that follows. */
export interface TarSpec {
  name: string;
  /** ustar type flag: "0" file, "5" dir, "2" symlink, "1" hard link, "3"/"4"/"6" devices and FIFOs … */
  type?: string;
  data?: Buffer;
  declaredSize?: number;
  linkname?: string;
}

/** A ustar archive built byte by byte (names are cut to the header's 100 bytes, like old tars). */
export function buildTar(entries: TarSpec[], trailer = Buffer.alloc(1024)): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    h.write(e.name.slice(0, 100), 0, "utf8");
    h.write("0000644\0", 100, "latin1");
    h.write("0000000\0", 108, "latin1");
    h.write("0000000\0", 116, "latin1");
    h.write((e.declaredSize ?? data.length).toString(8).padStart(11, "0").slice(-11) + "\0", 124, "latin1");
    h.write("00000000000\0", 136, "latin1");
    h.write(e.type ?? "0", 156, "latin1");
    if (e.linkname) h.write(e.linkname.slice(0, 100), 157, "utf8");
    h.write("ustar\x0000", 257, "latin1");
    h.fill(" ", 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, trailer]);
}
