/**
 * Host-process driver: "builds" an image by replaying a Dockerfile's filesystem steps into a
 * directory (rootfs/) and runs its ENTRYPOINT/CMD as a host process. It cannot honour FROM (the
 * host's tools stand in for the base image), RUN (build commands are skipped) or USER (processes run
 * as the control plane's user), and says so in the build log. It never writes outside its own
 * directories under the data dir.
 *
 * Each running app process group is recorded under `processDir` (pid and start time), and the
 * record removed when it stops: a control plane that was killed (SIGKILL, a crash) leaves its apps
 * running, so the next start (init) stops the recorded groups that are still alive.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { extractArchive, detectArchiveKind, verifyTree } from "../../wire/archive.js";
import { errorMessage } from "../errors.js";
import { contextDir, unpackBuildContext } from "./unpack-context.js";
import { RotatingLog } from "./rotating-log.js";
import { instanceEndpoints } from "./instance.js";
import { DockerfileError, expandVars, parseDockerfile, parseJsonForm, parseKeyValues, splitWords, type Instruction } from "./dockerfile.js";
import { exists, readJson, writeJson } from "../atomic-fs.js";
import { DEFAULT_PATH, which } from "./exec.js";
import { killGroup, processStartTicks } from "./process-group.js";
import { glob, hostPathInside, isDirInside, mkdirInside } from "./rootfs-paths.js";
import type { AppNetwork, AppNetworks } from "./app-network.js";
import { HostSandboxes, pathForOthers } from "./host-sandbox.js";
import {
  BuildFailure,
  type BuildRequest,
  type BuiltImage,
  type Driver,
  type ImageConfig,
  type InstanceExit,
  type RunningInstance,
  type StartOptions,
} from "./types.js";

const STOP_GRACE_MS = 5_000;
/** Host environment variables a process needs to find the host's tools. */
const HOST_ENV_PASSTHROUGH = [/^PATH$/, /^LANG$/, /^LC_/, /^TZ$/, /^PYENV_/, /^SSL_CERT_/, /^TMPDIR$/, /^NVM_/, /^JAVA_HOME$/, /^GOROOT$/];

interface Stage {
  index: number;
  name: string;
  rootfs: string;
  config: ImageConfig;
  args: Record<string, string>;
}

export interface HostDriverOptions {
  /** Where running process groups are recorded (inside the data dir); none: no records. */
  processDir?: string;
  log?: (line: string) => void;
  /** Users of their own per app (the plane runs as root); absent: apps run as the plane's user. */
  sandboxes?: HostSandboxes;
  /** A network namespace per instance; absent: apps listen on the host's loopback. */
  networks?: AppNetworks;
}

interface ProcessRecord {
  pid: number;
  /** The leader's start time (/proc/<pid>/stat field 22), which tells a reused pid apart. */
  startTicks: string;
  command: string;
}

export class HostDriver implements Driver {
  readonly name = "host";

  constructor(private readonly o: HostDriverOptions = {}) {}

  /** Stops the app processes a previous control plane on this data dir left running. */
  async init(): Promise<void> {
    const dir = this.o.processDir;
    if (!dir) return;
    await fsp.mkdir(dir, { recursive: true });
    for (const name of await fsp.readdir(dir)) {
      const file = path.join(dir, name);
      const rec = await readJson<ProcessRecord>(file).catch(() => undefined); // a torn record: nothing to stop
      if (rec && Number.isInteger(rec.pid) && rec.pid > 1) {
        const now = await processStartTicks(rec.pid);
        // The leader is gone: the group's number cannot be reused while members remain, so any
        // process still in it is a leftover. The leader is alive with the recorded start time: it
        // is the app. Otherwise the pid belongs to another process now: leave it alone.
        if (now === undefined || now === rec.startTicks) {
          if (killGroup(rec.pid, "SIGKILL")) this.o.log?.(`stopped an app process left by a previous run: pid ${rec.pid} (${rec.command})`);
        }
      }
      await fsp.rm(file, { force: true });
    }
  }

  async build(req: BuildRequest, log: (line: string) => void, signal: AbortSignal): Promise<BuiltImage> {
    const stagesDir = path.join(req.imageDir, "stages");
    await fsp.rm(stagesDir, { recursive: true, force: true });
    try {
      const { root: ctxRoot, dockerfile: dfReal } = await unpackBuildContext(req, log);
      let instructions: Instruction[];
      try {
        instructions = parseDockerfile(await fsp.readFile(dfReal, "utf8"));
      } catch (e) {
        throw new BuildFailure(`cannot parse ${req.dockerfilePath}: ${errorMessage(e)}`);
      }
      const image = await this.replay(req, instructions, ctxRoot, stagesDir, log, signal);
      return image;
    } catch (e) {
      if (e instanceof DockerfileError) throw new BuildFailure(e.message);
      throw e;
    } finally {
      await fsp.rm(contextDir(req), { recursive: true, force: true });
      await fsp.rm(stagesDir, { recursive: true, force: true });
    }
  }

  private async replay(
    req: BuildRequest,
    instructions: Instruction[],
    ctxRoot: string,
    stagesDir: string,
    log: (line: string) => void,
    signal: AbortSignal,
  ): Promise<BuiltImage> {
    const total = instructions.length;
    if (total === 0) throw new BuildFailure(`${req.dockerfilePath} has no instructions`);
    const globalArgs: Record<string, string> = {};
    const consumed = new Set<string>();
    const stages: Stage[] = [];
    let stage: Stage | undefined;
    let step = 0;
    const argValue = (name: string, def: string | undefined): string | undefined => {
      if (Object.prototype.hasOwnProperty.call(req.buildArgs, name)) {
        consumed.add(name);
        return req.buildArgs[name];
      }
      return def;
    };
    for (const ins of instructions) {
      if (signal.aborted) throw new BuildFailure("build cancelled");
      step++;
      log(`STEP ${step}/${total}: ${ins.original}`);
      const note = (m: string) => log(`  ${m}`);
      // Base images define PATH; the host driver assumes Docker's default so `ENV PATH=/x:$PATH` stays usable.
      const vars = (): Record<string, string | undefined> => (stage ? { PATH: DEFAULT_PATH, ...stage.args, ...stage.config.env } : { ...globalArgs });
      const fail = (m: string): never => {
        throw new BuildFailure(`step ${step}/${total} (${ins.keyword}, line ${ins.line}): ${m}`);
      };
      if (ins.keyword !== "FROM" && ins.keyword !== "ARG" && !stage) fail(`${ins.keyword} before the first FROM`);
      switch (ins.keyword) {
        case "ARG": {
          for (const w of splitWords(ins.rest)) {
            const eq = w.indexOf("=");
            const name = eq < 0 ? w : w.slice(0, eq);
            const def = eq < 0 ? undefined : expandVars(w.slice(eq + 1), vars());
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`invalid ARG name '${name}'`);
            if (!stage) {
              const v = argValue(name, def);
              if (v !== undefined) globalArgs[name] = v;
            } else {
              const v = argValue(name, def ?? globalArgs[name]);
              if (v !== undefined) stage.args[name] = v;
              else stage.args[name] = "";
            }
          }
          break;
        }
        case "FROM": {
          const words = splitWords(expandVars(ins.rest, { ...globalArgs }));
          const base = words[0];
          if (!base) fail("FROM needs an image");
          let name = "";
          if (words.length >= 3 && words[1]!.toLowerCase() === "as") name = words[2]!;
          else if (words.length !== 1) fail(`cannot parse FROM '${ins.rest}'`);
          const idx = stages.length;
          const rootfs = path.join(stagesDir, String(idx), "rootfs");
          await fsp.mkdir(rootfs, { recursive: true });
          const parent = stages.find((s) => s.name && s.name === base);
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
          stage = { index: idx, name, rootfs, config, args: {} };
          stages.push(stage);
          break;
        }
        case "WORKDIR": {
          const st = stage!;
          const dir = expandVars(ins.rest, vars());
          if (!dir) fail("WORKDIR needs a path");
          st.config.workdir = path.posix.resolve(st.config.workdir, dir);
          await mkdirInside(st.rootfs, st.config.workdir).catch((e) => fail(errorMessage(e)));
          break;
        }
        case "ENV": {
          const st = stage!;
          // Docker expands each value with the env as it was before this instruction.
          const pairs = parseKeyValues(expandVars(ins.rest, vars()), "ENV");
          for (const [k, v] of pairs) st.config.env[k] = v;
          break;
        }
        case "LABEL": {
          const st = stage!;
          for (const [k, v] of parseKeyValues(expandVars(ins.rest, vars()), "LABEL")) st.config.labels[k] = v;
          break;
        }
        case "EXPOSE": {
          const st = stage!;
          for (const w of splitWords(expandVars(ins.rest, vars()))) {
            const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
            if (!m) fail(`invalid port '${w}'`);
            const p = Number(m![1]);
            if (p < 1 || p > 65535) fail(`invalid port '${w}'`);
            if (!st.config.exposedPorts.includes(p)) st.config.exposedPorts.push(p);
          }
          note(`EXPOSE is documentation only: the app must listen on $PORT`);
          break;
        }
        case "USER": {
          const st = stage!;
          st.config.user = expandVars(ins.rest, vars());
          note(`USER ${st.config.user}: recorded; the host driver runs processes as the control plane's user`);
          break;
        }
        case "CMD":
        case "ENTRYPOINT": {
          const st = stage!;
          const argv = ins.json ?? (ins.rest ? ["/bin/sh", "-c", ins.rest] : []);
          if (ins.keyword === "CMD") st.config.cmd = argv;
          else {
            st.config.entrypoint = argv;
            st.config.cmd = null; // ENTRYPOINT resets an inherited CMD
          }
          break;
        }
        case "SHELL": {
          if (!parseJsonForm(ins.rest)) fail("SHELL must be written in JSON form");
          note(`SHELL recorded; the host driver runs shell forms with /bin/sh -c`);
          break;
        }
        case "RUN": {
          const what = ins.rest.length > 100 ? ins.rest.slice(0, 100) + "…" : ins.rest;
          note(`RUN ${what} skipped: the host driver does not run build commands`);
          break;
        }
        case "COPY":
        case "ADD": {
          await this.copy(ins, stage!, stages, ctxRoot, vars(), note, fail);
          break;
        }
        case "VOLUME": {
          const st = stage!;
          const json = parseJsonForm(ins.rest);
          for (const v of json ?? splitWords(expandVars(ins.rest, vars()))) {
            await mkdirInside(st.rootfs, path.posix.resolve(st.config.workdir, v)).catch((e) => fail(errorMessage(e)));
          }
          note(`VOLUME: a plain directory in the image filesystem`);
          break;
        }
        case "STOPSIGNAL": {
          const st = stage!;
          const s = expandVars(ins.rest, vars()).trim();
          st.config.stopSignal = /^\d+$/.test(s) ? s : s.toUpperCase().startsWith("SIG") ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
          break;
        }
        case "HEALTHCHECK":
          note(`HEALTHCHECK ignored: readiness is the app's health path`);
          break;
        case "ONBUILD":
          note(`ONBUILD ignored`);
          break;
        case "MAINTAINER":
          stage!.config.labels["maintainer"] = ins.rest;
          break;
        default:
          fail(`unknown instruction '${ins.keyword}'`);
      }
    }
    const final = stage!;
    const unused = Object.keys(req.buildArgs).filter((k) => !consumed.has(k));
    if (unused.length) log(`[Warning] one or more build args were not consumed: ${unused.sort().join(", ")}`);
    if (!final.config.cmd && !final.config.entrypoint) log(`[Warning] the image has no CMD or ENTRYPOINT; it cannot be started`);
    // the final stage's filesystem becomes the image
    const rootfs = path.join(req.imageDir, "rootfs");
    await fsp.rm(rootfs, { recursive: true, force: true });
    await fsp.rename(final.rootfs, rootfs);
    try {
      await verifyTree(await fsp.realpath(rootfs));
    } catch (e) {
      throw new BuildFailure(errorMessage(e));
    }
    const image: BuiltImage = { ref: req.imageRef, driver: this.name, dir: req.imageDir, config: final.config, createdAtMs: Date.now() };
    await writeJson(path.join(req.imageDir, "image.json"), image);
    log(`COMMIT ${req.imageRef}`);
    return image;
  }

  private async copy(
    ins: Instruction,
    st: Stage,
    stages: Stage[],
    ctxRoot: string,
    vars: Record<string, string | undefined>,
    note: (m: string) => void,
    fail: (m: string) => never,
  ): Promise<void> {
    if (ins.heredocs.length) fail(`${ins.keyword} with a heredoc is not supported by the host driver`);
    let words = ins.json ?? splitWords(ins.rest);
    words = words.map((w) => expandVars(w, vars));
    if (words.length < 2) fail(`${ins.keyword} needs at least one source and a destination`);
    let srcRoot = ctxRoot;
    const from = ins.flags["from"];
    if (from !== undefined) {
      if (ins.keyword === "ADD") fail("ADD does not accept --from");
      const src = stages.find((s) => s.name === from) ?? (/^\d+$/.test(from) ? stages[Number(from)] : undefined);
      if (!src || src === st) fail(`COPY --from=${from}: image '${from}' is not available offline (only earlier build stages are)`);
      srcRoot = await fsp.realpath(src!.rootfs);
    }
    if (ins.flags["chown"] || ins.flags["chmod"]) note(`--chown/--chmod recorded but not applied by the host driver`);
    const destRaw = words[words.length - 1]!;
    const sources = words.slice(0, -1);
    const destAbs = path.posix.resolve(st.config.workdir, destRaw);
    const rootfs = await fsp.realpath(st.rootfs);
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
    const destIsDir = destRaw.endsWith("/") || matched.length > 1 || sources.some((s) => /[*?[]/.test(s)) || (await isDirInside(rootfs, destAbs));
    for (const h of matched) {
      const srcFull = path.join(srcRoot, h);
      const real = await fsp.realpath(srcFull);
      const st0 = await fsp.stat(real);
      if (st0.isDirectory()) {
        const target = await hostPathInside(rootfs, destAbs).catch((e) => fail(errorMessage(e)));
        await fsp.mkdir(target, { recursive: true });
        await fsp.cp(real, target, { recursive: true, verbatimSymlinks: true, force: true });
        continue;
      }
      if (ins.keyword === "ADD" && from === undefined) {
        const kind = await detectArchiveKind(real);
        if (kind === "tar" || kind === "tar.gz") {
          const target = await hostPathInside(rootfs, destAbs).catch((e) => fail(errorMessage(e)));
          try {
            await extractArchive(real, target);
          } catch (e) {
            fail(`ADD ${h}: ${errorMessage(e)}`);
          }
          note(`extracted ${h} into ${destAbs}`);
          continue;
        }
      }
      const destFile = destIsDir ? path.posix.join(destAbs, path.posix.basename(h)) : destAbs;
      const target = await hostPathInside(rootfs, destFile).catch((e) => fail(errorMessage(e)));
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rm(target, { force: true, recursive: true });
      await fsp.copyFile(real, target);
      await fsp.chmod(target, st0.mode & 0o7777);
    }
  }

  async imageAvailable(image: BuiltImage): Promise<boolean> {
    return (await exists(path.join(image.dir, "image.json"))) && (await exists(path.join(image.dir, "rootfs")));
  }

  /** Removes the sandboxes' run root (after the runtime stopped every instance). */
  async close(): Promise<void> {
    await this.o.sandboxes?.close();
  }

  async removeImage(image: BuiltImage): Promise<void> {
    await this.o.sandboxes?.removeImage(image.dir);
    await fsp.rm(image.dir, { recursive: true, force: true });
  }

  /**
   * Why this driver cannot keep organizations apart ("" when it can): that needs users of their
   * own and a network namespace per app.
   */
  tenantIsolationMissing(): string {
    if (!this.o.sandboxes) return HostSandboxes.missing() || "apps run as the control plane's user";
    if (!this.o.networks) return "apps share the host's loopback network (per-app network namespaces need root, ip and socat)";
    return "";
  }

  async start(image: BuiltImage, opts: StartOptions): Promise<RunningInstance> {
    const cfg = image.config;
    let argv = [...(cfg.entrypoint ?? []), ...(cfg.entrypoint && isShellForm(cfg.entrypoint) ? [] : (cfg.cmd ?? []))];
    if (argv.length === 0) throw new Error(`image ${image.ref} has no CMD or ENTRYPOINT`);
    await fsp.mkdir(opts.instanceDir, { recursive: true });
    const sandbox = this.o.sandboxes ? await this.o.sandboxes.prepare(opts.owner, image.dir, path.basename(opts.instanceDir)) : undefined;
    const rootfs = sandbox?.rootfs ?? (await fsp.realpath(path.join(image.dir, "rootfs")));
    const cwd = await hostPathInside(rootfs, cfg.workdir || "/");
    await fsp.mkdir(cwd, { recursive: true });
    const home = sandbox?.home ?? path.join(opts.instanceDir, "home");
    await fsp.mkdir(home, { recursive: true });
    const shimDir = sandbox?.bin ?? path.join(opts.instanceDir, "bin");
    await fsp.mkdir(shimDir, { recursive: true });
    let network: AppNetwork | undefined;
    try {
      network = await this.o.networks?.create([opts.port, ...opts.extraPorts], opts.log);
    } catch (e) {
      await sandbox?.remove();
      throw e;
    }

    // Environment: host basics (to find the host's tools), image ENV, app env, PORT, HOME.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && HOST_ENV_PASSTHROUGH.some((re) => re.test(k))) env[k] = v;
    }
    if (!sandbox && !env["PYENV_ROOT"] && process.env["HOME"] && (await exists(path.join(process.env["HOME"], ".pyenv")))) {
      env["PYENV_ROOT"] = path.join(process.env["HOME"], ".pyenv");
    }
    // an app of its own user finds the host's tools only where every user may (not root's ~/.pyenv)
    const hostPath = sandbox ? await pathForOthers(env["PATH"] ?? DEFAULT_PATH) : (env["PATH"] ?? DEFAULT_PATH);
    if (sandbox) delete env["PYENV_ROOT"];
    Object.assign(env, cfg.env, opts.env);
    env["PORT"] = String(opts.port);
    env["HOME"] = home;
    // the plane's TMPDIR may be its own; an app in a sandbox keeps temporary files in its home
    if (sandbox) env["TMPDIR"] = home;
    // The image's PATH usually names base-image dirs: keep them, then the host's.
    const imagePath = cfg.env["PATH"] ?? opts.env["PATH"];
    const pathParts = [shimDir, ...(imagePath ? imagePath.split(":") : []), ...hostPath.split(":")].filter((p, i, a) => p && a.indexOf(p) === i);
    env["PATH"] = pathParts.join(":");

    // python -> python3 when the host has no `python`.
    if (!(await which("python", hostPath)) && (await which("python3", hostPath))) {
      const py3 = (await which("python3", hostPath))!;
      await fsp.rm(path.join(shimDir, "python"), { force: true });
      await fsp.symlink(py3, path.join(shimDir, "python"));
      opts.log(`no 'python' on the host PATH: 'python' runs ${py3}`);
    }
    // Absolute paths that exist in the image filesystem are rewritten to it.
    argv = await Promise.all(
      argv.map(async (a, i) => {
        if (!a.startsWith("/") || isShellForm(argv)) return a;
        const inImage = path.join(rootfs, a);
        if (await exists(inImage)) return inImage;
        if (i === 0 && !(await exists(a))) {
          const base = path.basename(a);
          const onHost = await which(base, env["PATH"] ?? DEFAULT_PATH);
          if (onHost) {
            opts.log(`'${a}' is not in the image filesystem: using '${onHost}' from the host`);
            return onHost;
          }
        }
        return a;
      }),
    );
    if (sandbox) opts.log(`running as uid ${sandbox.uid} (this app's own user${cfg.user ? `; the image's USER ${cfg.user} is checked, not shared between apps` : ""})${network ? ` in network namespace ${network.name}` : ""}`);
    else if (cfg.user) opts.log(`USER ${cfg.user} not honoured: the process runs as the control plane's user`);

    const endpoints = instanceEndpoints(opts, network?.sockets);
    // In a sandbox: enter the namespace as root, then drop to the app's user for good.
    const command = sandbox
      ? network
        ? ["ip", "netns", "exec", network.name, "setpriv", `--reuid=${sandbox.uid}`, `--regid=${sandbox.gid}`, "--clear-groups", "--no-new-privs", "--", ...argv]
        : ["setpriv", `--reuid=${sandbox.uid}`, `--regid=${sandbox.gid}`, "--clear-groups", "--no-new-privs", "--", ...argv]
      : argv;
    const logFile = path.join(opts.instanceDir, "output.log");
    const out = new RotatingLog(logFile);
    const ring: string[] = [];
    const push = (stream: string) => {
      let partial = "";
      return (chunk: Buffer) => {
        out.write(chunk);
        const text = partial + chunk.toString("utf8");
        const lines = text.split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) {
          ring.push(l);
          if (ring.length > 200) ring.shift();
          opts.onOutput?.(stream as "stdout" | "stderr", l);
        }
        if (partial.length > 4096) {
          ring.push(partial);
          opts.onOutput?.(stream as "stdout" | "stderr", partial);
          partial = "";
        }
      };
    };
    opts.log(`starting: ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")} (cwd ${cfg.workdir || "/"}, PORT=${opts.port})`);
    let child: ChildProcess;
    try {
      child = spawn(command[0]!, command.slice(1), { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      out.end();
      await network?.close();
      await sandbox?.remove();
      throw new Error(`cannot start '${argv[0]}': ${errorMessage(e)}`);
    }
    child.stdout!.on("data", push("stdout"));
    child.stderr!.on("data", push("stderr"));
    let running = true;
    const exited = new Promise<InstanceExit>((resolve) => {
      child.once("error", (e) => {
        ring.push(`cannot start '${argv[0]}': ${e.message}`);
        running = false;
        out.end();
        resolve({ code: null, signal: null });
      });
      child.once("exit", (code, sig) => {
        running = false;
        // give the pipes a moment to flush into the ring
        setTimeout(() => {
          out.end();
          resolve({ code, signal: sig });
        }, 20);
      });
    });
    // the namespace and the sandbox go with the process
    void exited.then(async () => {
      await network?.close();
      await sandbox?.remove();
    });
    const pid = child.pid;
    const record = pid !== undefined && this.o.processDir ? path.join(this.o.processDir, `${pid}.json`) : undefined;
    if (record) {
      const rec: ProcessRecord = { pid: pid!, startTicks: (await processStartTicks(pid!)) ?? "", command: argv.join(" ").slice(0, 200) };
      await writeJson(record, rec).catch((e: unknown) => opts.log(`cannot record the process (${errorMessage(e)}): a killed control plane would leave it running`));
      void exited.then(() => fsp.rm(record, { force: true }).catch(() => undefined));
    }
    const stopSignal = (cfg.stopSignal || "SIGTERM") as NodeJS.Signals;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        if (!running || pid === undefined) {
          // the leader is gone; children in its group may not be
          if (pid !== undefined) killGroup(pid, "SIGKILL");
          await exited;
          return;
        }
        killGroup(pid, stopSignal);
        const t = setTimeout(() => killGroup(pid, "SIGKILL"), STOP_GRACE_MS);
        await exited;
        clearTimeout(t);
        killGroup(pid, "SIGKILL"); // leftovers of the group
      })();
      return stopping;
    };
    return {
      id: `host-${pid ?? "x"}`,
      endpoint: endpoints.get(opts.port)!,
      endpoints,
      startedAtMs: Date.now(),
      exited,
      alive: () => running,
      recentOutput: (n = 20) => ring.slice(-n),
      stop,
    };
  }
}

function isShellForm(argv: string[]): boolean {
  return argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c";
}
