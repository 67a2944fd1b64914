// Paths inside an image's root filesystem as the host driver's Dockerfile replay uses them: resolved
// without following a link out of the rootfs, and COPY sources matched by glob.
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { exists } from "../atomic-fs.js";

/** Host path of `abs` (an image path) inside rootfs; refuses to resolve through a link out of rootfs. */
export async function hostPathInside(rootfs: string, abs: string): Promise<string> {
  const rel = path.posix.normalize("/" + abs).replace(/^\/+/, "");
  let cur = rootfs;
  for (const part of rel.split("/").filter(Boolean)) {
    cur = path.join(cur, part);
    let st;
    try {
      st = await fsp.lstat(cur);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) {
      const real = await fsp.realpath(cur).catch(() => "");
      if (!real || (real !== rootfs && !real.startsWith(rootfs + path.sep))) {
        throw new Error(`'${abs}' resolves outside the image filesystem`);
      }
    }
  }
  return path.join(rootfs, rel);
}

export async function mkdirInside(rootfs: string, abs: string): Promise<void> {
  const real = await fsp.realpath(rootfs);
  await fsp.mkdir(await hostPathInside(real, abs), { recursive: true });
}

export async function isDirInside(rootfs: string, abs: string): Promise<boolean> {
  try {
    const p = await hostPathInside(rootfs, abs);
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Basic glob (*, ?, [...] within one path segment) relative to root; returns matching relative paths. */
export async function glob(root: string, pattern: string): Promise<string[]> {
  const segs = pattern.split("/").filter(Boolean);
  let current = [""];
  for (const seg of segs) {
    const next: string[] = [];
    const isPattern = /[*?[]/.test(seg);
    const re = isPattern ? segmentRegex(seg) : undefined;
    for (const base of current) {
      if (!re) {
        if (await exists(path.join(root, base, seg))) next.push(base ? `${base}/${seg}` : seg);
        continue;
      }
      let names: string[];
      try {
        names = await fsp.readdir(path.join(root, base));
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n)) next.push(base ? `${base}/${n}` : n);
    }
    current = next;
  }
  return current.filter(Boolean);
}

function segmentRegex(seg: string): RegExp {
  let re = "^";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = seg.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let cls = seg.slice(i + 1, end);
        if (cls.startsWith("!") || cls.startsWith("^")) cls = "^" + cls.slice(1);
        re += `[${cls.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < seg.length) re += "\\" + seg[++i];
    else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(re + "$");
}
