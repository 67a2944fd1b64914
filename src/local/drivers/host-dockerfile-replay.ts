/**
 * The host driver's "build": a Dockerfile's filesystem steps replayed into a directory per stage,
 * the final stage's directory becoming the image's rootfs/. FROM (the host's tools stand in for the
 * base image), RUN (build commands are skipped) and USER (processes run as the plane's or the app's
 * own user) cannot be honoured; each says so in the build log. Nothing is written outside the
 * stages directory and the image directory.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { extractArchive, detectArchiveKind, verifyTree } from "../../wire/archive.js";
import { errorMessage } from "../errors.js";
import { expandVars, parseJsonForm, parseKeyValues, splitWords, type Instruction } from "./dockerfile.js";
import { exists, writeJson } from "../atomic-fs.js";
import { DEFAULT_PATH } from "./exec.js";
import { glob, hostPathInside, isDirInside, mkdirInside } from "./rootfs-paths.js";
import { BuildFailure, type BuildRequest, type BuiltImage, type ImageConfig } from "./types.js";

/** What one replay reads and where it writes. */
export interface ReplayInput {
  req: BuildRequest;
  instructions: Instruction[];
  /** The unpacked build context, which COPY and ADD read from. */
  contextRoot: string;
  /** Where each stage's filesystem is assembled (stagesDir/<index>/rootfs). */
  stagesDir: string;
  /** The driver the image is recorded for. */
  driverName: string;
  log: (line: string) => void;
  signal: AbortSignal;
}

interface Stage {
  index: number;
  name: string;
  rootfs: string;
  config: ImageConfig;
  args: Record<string, string>;
}

/** The instruction being replayed, with its build-log note and its failure (which names the step). */
interface Step {
  ins: Instruction;
  note: (m: string) => void;
  fail: (m: string) => never;
}

/** Replays the instructions and commits the final stage as the image (image.json, rootfs/). */
export async function replayDockerfile(input: ReplayInput): Promise<BuiltImage> {
  return new DockerfileReplay(input).run();
}

class DockerfileReplay {
  private readonly globalArgs: Record<string, string> = {};
  /** Build args some ARG read: the others are reported as not consumed. */
  private readonly consumed = new Set<string>();
  private readonly stages: Stage[] = [];
  private stage: Stage | undefined;

  constructor(private readonly input: ReplayInput) {}

  async run(): Promise<BuiltImage> {
    const { req, instructions, log, signal } = this.input;
    const total = instructions.length;
    if (total === 0) throw new BuildFailure(`${req.dockerfilePath} has no instructions`);
    let n = 0;
    for (const ins of instructions) {
      if (signal.aborted) throw new BuildFailure("build cancelled");
      n++;
      log(`STEP ${n}/${total}: ${ins.original}`);
      const where = `step ${n}/${total} (${ins.keyword}, line ${ins.line})`;
      const step: Step = {
        ins,
        note: (m) => log(`  ${m}`),
        fail: (m) => {
          throw new BuildFailure(`${where}: ${m}`);
        },
      };
      if (ins.keyword !== "FROM" && ins.keyword !== "ARG" && !this.stage) step.fail(`${ins.keyword} before the first FROM`);
      await this.apply(step);
    }
    return this.commit(this.stage!);
  }

  /** The variables an instruction expands: the stage's ARGs and ENV, or the global ARGs before the first FROM. */
  private vars(): Record<string, string | undefined> {
    const st = this.stage;
    // Base images define PATH; the host driver assumes Docker's default so `ENV PATH=/x:$PATH` stays usable.
    return st ? { PATH: DEFAULT_PATH, ...st.args, ...st.config.env } : { ...this.globalArgs };
  }

  private async apply(step: Step): Promise<void> {
    const { ins, note, fail } = step;
    switch (ins.keyword) {
      case "ARG":
        return this.arg(step);
      case "FROM":
        return this.from(step);
      case "WORKDIR":
        return this.workdir(step);
      case "ENV":
      case "LABEL":
      case "USER":
      case "CMD":
      case "ENTRYPOINT":
      case "STOPSIGNAL":
      case "MAINTAINER":
        return this.configure(step, this.stage!);
      case "EXPOSE":
        return this.expose(step, this.stage!);
      case "SHELL":
        if (!parseJsonForm(ins.rest)) fail("SHELL must be written in JSON form");
        note(`SHELL recorded; the host driver runs shell forms with /bin/sh -c`);
        return;
      case "RUN": {
        const what = ins.rest.length > 100 ? ins.rest.slice(0, 100) + "…" : ins.rest;
        note(`RUN ${what} skipped: the host driver does not run build commands`);
        return;
      }
      case "COPY":
      case "ADD":
        return this.copy(step, this.stage!);
      case "VOLUME":
        return this.volume(step, this.stage!);
      case "HEALTHCHECK":
        note(`HEALTHCHECK ignored: readiness is the app's health path`);
        return;
      case "ONBUILD":
        note(`ONBUILD ignored`);
        return;
      default:
        fail(`unknown instruction '${ins.keyword}'`);
    }
  }

  private argValue(name: string, def: string | undefined): string | undefined {
    const buildArgs = this.input.req.buildArgs;
    if (Object.prototype.hasOwnProperty.call(buildArgs, name)) {
      this.consumed.add(name);
      return buildArgs[name];
    }
    return def;
  }

  private arg({ ins, fail }: Step): void {
    for (const w of splitWords(ins.rest)) {
      const eq = w.indexOf("=");
      const name = eq < 0 ? w : w.slice(0, eq);
      const def = eq < 0 ? undefined : expandVars(w.slice(eq + 1), this.vars());
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`invalid ARG name '${name}'`);
      if (!this.stage) {
        const v = this.argValue(name, def);
        if (v !== undefined) this.globalArgs[name] = v;
      } else {
        const v = this.argValue(name, def ?? this.globalArgs[name]);
        this.stage.args[name] = v ?? "";
      }
    }
  }

  private async from({ ins, note, fail }: Step): Promise<void> {
    const words = splitWords(expandVars(ins.rest, { ...this.globalArgs }));
    const base = words[0];
    if (!base) fail("FROM needs an image");
    let name = "";
    if (words.length >= 3 && words[1]!.toLowerCase() === "as") name = words[2]!;
    else if (words.length !== 1) fail(`cannot parse FROM '${ins.rest}'`);
    const idx = this.stages.length;
    const rootfs = path.join(this.input.stagesDir, String(idx), "rootfs");
    await fsp.mkdir(rootfs, { recursive: true });
    const parent = this.stages.find((s) => s.name && s.name === base);
    const config: ImageConfig = parent
      ? structuredClone(parent.config)
      : { workdir: "/", env: {}, entrypoint: null, cmd: null, user: "", exposedPorts: [], labels: {}, stopSignal: "SIGTERM" };
    if (parent) {
      await fsp.cp(parent.rootfs, rootfs, { recursive: true, verbatimSymlinks: true, force: true });
      note(`starts from stage '${parent.name}'`);
    } else if (base === "scratch") {
      note(`starts from an empty filesystem`);
    } else {
      note(`FROM ${base}: not honoured by the host driver; the host's tools (e.g. python3, node) stand in for the base image`);
    }
    this.stage = { index: idx, name, rootfs, config, args: {} };
    this.stages.push(this.stage);
  }

  private async workdir({ ins, fail }: Step): Promise<void> {
    const st = this.stage!;
    const dir = expandVars(ins.rest, this.vars());
    if (!dir) fail("WORKDIR needs a path");
    st.config.workdir = path.posix.resolve(st.config.workdir, dir);
    await mkdirInside(st.rootfs, st.config.workdir).catch((e) => fail(errorMessage(e)));
  }

  /** The instructions that only change the image config. */
  private configure({ ins, note }: Step, st: Stage): void {
    const config = st.config;
    switch (ins.keyword) {
      case "ENV":
        // Docker expands each value with the env as it was before this instruction.
        for (const [k, v] of parseKeyValues(expandVars(ins.rest, this.vars()), "ENV")) config.env[k] = v;
        return;
      case "LABEL":
        for (const [k, v] of parseKeyValues(expandVars(ins.rest, this.vars()), "LABEL")) config.labels[k] = v;
        return;
      case "USER":
        config.user = expandVars(ins.rest, this.vars());
        note(`USER ${config.user}: recorded; the host driver runs processes as the control plane's user`);
        return;
      case "CMD":
      case "ENTRYPOINT": {
        const argv = ins.json ?? (ins.rest ? ["/bin/sh", "-c", ins.rest] : []);
        if (ins.keyword === "CMD") config.cmd = argv;
        else {
          config.entrypoint = argv;
          config.cmd = null; // ENTRYPOINT resets an inherited CMD
        }
        return;
      }
      case "STOPSIGNAL": {
        const s = expandVars(ins.rest, this.vars()).trim();
        config.stopSignal = /^\d+$/.test(s) ? s : s.toUpperCase().startsWith("SIG") ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
        return;
      }
      case "MAINTAINER":
        config.labels["maintainer"] = ins.rest;
        return;
    }
  }

  private expose({ ins, note, fail }: Step, st: Stage): void {
    for (const w of splitWords(expandVars(ins.rest, this.vars()))) {
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
      if (!m) fail(`invalid port '${w}'`);
      const p = Number(m![1]);
      if (p < 1 || p > 65535) fail(`invalid port '${w}'`);
      if (!st.config.exposedPorts.includes(p)) st.config.exposedPorts.push(p);
    }
    note(`EXPOSE is documentation only: the app must listen on $PORT`);
  }

  private async volume({ ins, note, fail }: Step, st: Stage): Promise<void> {
    const json = parseJsonForm(ins.rest);
    for (const v of json ?? splitWords(expandVars(ins.rest, this.vars()))) {
      await mkdirInside(st.rootfs, path.posix.resolve(st.config.workdir, v)).catch((e) => fail(errorMessage(e)));
    }
    note(`VOLUME: a plain directory in the image filesystem`);
  }

  /** COPY and ADD: from the build context or (COPY --from) an earlier stage, never from outside it. */
  private async copy(step: Step, st: Stage): Promise<void> {
    const { ins, note, fail } = step;
    if (ins.heredocs.length) fail(`${ins.keyword} with a heredoc is not supported by the host driver`);
    const vars = this.vars();
    const words = (ins.json ?? splitWords(ins.rest)).map((w) => expandVars(w, vars));
    if (words.length < 2) fail(`${ins.keyword} needs at least one source and a destination`);
    let srcRoot = this.input.contextRoot;
    const from = ins.flags["from"];
    if (from !== undefined) {
      if (ins.keyword === "ADD") fail("ADD does not accept --from");
      const src = this.stages.find((s) => s.name === from) ?? (/^\d+$/.test(from) ? this.stages[Number(from)] : undefined);
      if (!src || src === st) fail(`COPY --from=${from}: image '${from}' is not available offline (only earlier build stages are)`);
      srcRoot = await fsp.realpath(src!.rootfs);
    }
    if (ins.flags["chown"] || ins.flags["chmod"]) note(`--chown/--chmod recorded but not applied by the host driver`);
    const destRaw = words[words.length - 1]!;
    const sources = words.slice(0, -1);
    const destAbs = path.posix.resolve(st.config.workdir, destRaw);
    const rootfs = await fsp.realpath(st.rootfs);
    const matched = await matchSources(step, srcRoot, sources);
    const destIsDir = destRaw.endsWith("/") || matched.length > 1 || sources.some((s) => /[*?[]/.test(s)) || (await isDirInside(rootfs, destAbs));
    for (const h of matched) {
      const real = await fsp.realpath(path.join(srcRoot, h));
      const st0 = await fsp.stat(real);
      if (st0.isDirectory()) {
        const target = await hostPathInside(rootfs, destAbs).catch((e) => fail(errorMessage(e)));
        await fsp.mkdir(target, { recursive: true });
        await fsp.cp(real, target, { recursive: true, verbatimSymlinks: true, force: true });
        continue;
      }
      if (ins.keyword === "ADD" && from === undefined && (await extractAdded(step, real, { rootfs, destAbs, name: h }))) continue;
      const destFile = destIsDir ? path.posix.join(destAbs, path.posix.basename(h)) : destAbs;
      const target = await hostPathInside(rootfs, destFile).catch((e) => fail(errorMessage(e)));
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rm(target, { force: true, recursive: true });
      await fsp.copyFile(real, target);
      await fsp.chmod(target, st0.mode & 0o7777);
    }
  }

  /** The final stage's filesystem becomes the image. */
  private async commit(final: Stage): Promise<BuiltImage> {
    const { req, log, driverName } = this.input;
    const unused = Object.keys(req.buildArgs).filter((k) => !this.consumed.has(k));
    if (unused.length) log(`[Warning] one or more build args were not consumed: ${unused.sort().join(", ")}`);
    if (!final.config.cmd && !final.config.entrypoint) log(`[Warning] the image has no CMD or ENTRYPOINT; it cannot be started`);
    const rootfs = path.join(req.imageDir, "rootfs");
    await fsp.rm(rootfs, { recursive: true, force: true });
    await fsp.rename(final.rootfs, rootfs);
    try {
      await verifyTree(await fsp.realpath(rootfs));
    } catch (e) {
      throw new BuildFailure(errorMessage(e));
    }
    const image: BuiltImage = { ref: req.imageRef, driver: driverName, dir: req.imageDir, config: final.config, createdAtMs: Date.now() };
    await writeJson(path.join(req.imageDir, "image.json"), image);
    log(`COMMIT ${req.imageRef}`);
    return image;
  }
}

/** The paths (relative to srcRoot) a COPY's sources name: globs expanded, each inside srcRoot. */
async function matchSources({ ins, fail }: Step, srcRoot: string, sources: string[]): Promise<string[]> {
  const matched: string[] = [];
  for (const s of sources) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
      fail(`${ins.keyword} ${s}: remote sources are not available offline`);
    }
    const clean = path.posix.normalize("/" + s).replace(/^\/+/, "");
    const hits = /[*?[]/.test(clean) ? await glob(srcRoot, clean) : [clean];
    if (hits.length === 0) fail(`no source files were specified by '${s}'`);
    for (const h of hits) {
      const full = path.join(srcRoot, h);
      if (!(await exists(full))) fail(`'${s}' not found in the build context`);
      const real = await fsp.realpath(full).catch(() => full);
      if (real !== srcRoot && !real.startsWith(srcRoot + path.sep)) fail(`'${s}' resolves outside the build context`);
      matched.push(h);
    }
  }
  return matched;
}

/** ADD of a local tar (or tar.gz) extracts it at the destination; false for any other file. */
async function extractAdded({ note, fail }: Step, file: string, at: { rootfs: string; destAbs: string; name: string }): Promise<boolean> {
  const kind = await detectArchiveKind(file);
  if (kind !== "tar" && kind !== "tar.gz") return false;
  const target = await hostPathInside(at.rootfs, at.destAbs).catch((e) => fail(errorMessage(e)));
  try {
    await extractArchive(file, target);
  } catch (e) {
    fail(`ADD ${at.name}: ${errorMessage(e)}`);
  }
  note(`extracted ${at.name} into ${at.destAbs}`);
  return true;
}
