/**
 * Runtime manager: at most one running instance per app (the active version's), cold starts on
 * demand with de-duplication, readiness probing, swap-then-stop on publish/rollback, idle scale-to-zero.
 */
import * as http from "node:http";
import type { BuiltImage, Driver, RunningInstance } from "./drivers/types.js";
import { errorMessage, failedPrecondition } from "./errors.js";
import { sleep, ulid, freePort } from "./util.js";
import type { Store } from "./store.js";

export interface AppRunSpec {
  org: string;
  app: string;
  version: number;
  image: BuiltImage;
  env: Record<string, string>;
  ports: number[];
  healthPath: string;
  /** Shown in events, e.g. "test instance" for TestDraft/TestAppVersion. */
  label?: string;
}

/** Observers of app output and lifecycle (logs and events, see observability.ts). */
export interface RuntimeHooks {
  output?: (key: string, version: number, replicaId: string, stream: "stdout" | "stderr", line: string) => void;
  event?: (key: string, reason: "VersionStarted" | "ColdStart" | "ScaledToZero" | "ReplicaStopped" | "Crashed" | "StartFailed", message: string, replicaId: string) => void;
}

export interface Slot {
  version: number;
  instance: RunningInstance;
  lastUsedMs: number;
  keepWarm: boolean;
}

export class RuntimeManager {
  private slots = new Map<string, Slot>();
  private starting = new Map<string, Promise<Slot>>();
  readonly lastError = new Map<string, string>();
  readonly lastInvokedMs = new Map<string, number>();
  private stopped = false;
  private reaper: NodeJS.Timeout | undefined;
  hooks: RuntimeHooks = {};

  constructor(
    private driver: Driver,
    private store: Store,
    private log: (line: string) => void,
    private readyTimeoutMs = 60_000,
    private idleTimeoutMs = 0,
  ) {
    if (idleTimeoutMs > 0) {
      this.reaper = setInterval(() => void this.reapIdle(), Math.min(30_000, Math.max(1_000, idleTimeoutMs / 4)));
      this.reaper.unref();
    }
  }

  running(key: string): Slot | undefined {
    const s = this.slots.get(key);
    if (s && !s.instance.alive()) {
      this.slots.delete(key);
      return undefined;
    }
    return s;
  }

  /** Returns the running slot for `key` at `spec.version`, starting it when needed. */
  async ensure(key: string, spec: () => Promise<AppRunSpec>, version: number, keepWarm = false): Promise<{ slot: Slot; coldStart: boolean }> {
    const cur = this.running(key);
    if (cur && cur.version === version) {
      cur.lastUsedMs = Date.now();
      return { slot: cur, coldStart: false };
    }
    let p = this.starting.get(key);
    if (!p) {
      p = (async () => {
        const s = await spec();
        const instance = await this.launch(s);
        const slot: Slot = { version: s.version, instance, lastUsedMs: Date.now(), keepWarm };
        await this.install(key, slot);
        return slot;
      })();
      this.starting.set(key, p);
      p.finally(() => this.starting.delete(key)).catch(() => undefined);
    }
    const slot = await p;
    this.hooks.event?.(key, "ColdStart", `cold start of version ${slot.version}`, slot.instance.id);
    return { slot, coldStart: true };
  }

  /** Starts an instance and waits until it answers HTTP; throws FAILED_PRECONDITION otherwise. */
  async launch(s: AppRunSpec): Promise<RunningInstance> {
    if (this.stopped) throw failedPrecondition("the control plane is stopping");
    const key = `${s.org}/${s.app}`;
    const port = await freePort();
    const instanceDir = this.store.instanceDir(s.org, s.app, `v${s.version}-${ulid().toLowerCase()}`);
    const lines: string[] = [];
    const log = (l: string) => {
      lines.push(l);
      this.log(`[${key} v${s.version}] ${l}`);
    };
    let inst: RunningInstance;
    let replicaId = "";
    const onOutput = (stream: "stdout" | "stderr", line: string) => this.hooks.output?.(key, s.version, replicaId, stream, line);
    const what = `version ${s.version}${s.label ? ` (${s.label})` : ""}`;
    const userProblem = runAsNonRootViolation(s.image.config.user);
    if (userProblem) {
      const msg = `version ${s.version} of ${key} could not start: ${userProblem}`;
      log(msg);
      this.lastError.set(key, msg);
      this.hooks.event?.(key, "StartFailed", msg, "");
      throw failedPrecondition(msg);
    }
    if (!s.image.config.user.trim()) {
      log(
        `warning: the image sets no USER; the platform runs pods as non-root and may refuse it: add a numeric USER such as 65534 (${this.driver.name === "host" ? "the host driver runs it as the control plane's user" : `running it as ${DEFAULT_NON_ROOT_USER}`})`,
      );
    }
    try {
      inst = await this.driver.start(s.image, { env: s.env, port, extraPorts: s.ports.slice(1), instanceDir, log, onOutput });
      replicaId = inst.id;
    } catch (e) {
      const msg = `version ${s.version} of ${key} could not start: ${errorMessage(e)}`;
      this.lastError.set(key, msg);
      this.hooks.event?.(key, "StartFailed", msg, "");
      throw failedPrecondition(msg);
    }
    try {
      await this.waitReady(inst, s.healthPath || "/healthz", log);
    } catch (e) {
      await inst.stop();
      const out = inst.recentOutput(15);
      const msg = `version ${s.version} of ${key} did not become ready: ${errorMessage(e)}${out.length ? `\n--- last output ---\n${out.join("\n")}` : ""}`;
      this.lastError.set(key, msg);
      this.hooks.event?.(key, "StartFailed", `${what} did not become ready: ${errorMessage(e)}`, inst.id);
      throw failedPrecondition(msg);
    }
    this.lastError.delete(key);
    this.hooks.event?.(key, "VersionStarted", `${what} started and ready`, inst.id);
    inst.exited.then((x) => {
      const cur = this.slots.get(key);
      if (cur?.instance === inst) {
        this.slots.delete(key);
        if (!this.stopped) {
          const msg = `version ${s.version} of ${key} exited (${x.signal ?? `code ${x.code}`})`;
          this.lastError.set(key, msg);
          this.log(`[${key}] ${msg}`);
          this.hooks.event?.(key, "Crashed", msg, inst.id);
        }
      }
    }, () => undefined);
    return inst;
  }

  /** Makes `slot` the app's instance and stops the previous one. */
  async install(key: string, slot: Slot): Promise<void> {
    const prev = this.slots.get(key);
    this.slots.set(key, slot);
    if (prev && prev.instance !== slot.instance) {
      this.hooks.event?.(key, "ReplicaStopped", `version ${prev.version} stopped (replaced by version ${slot.version})`, prev.instance.id);
      await prev.instance.stop();
    }
  }

  async stopApp(key: string): Promise<void> {
    const pending = this.starting.get(key);
    if (pending) await pending.catch(() => undefined);
    const s = this.slots.get(key);
    this.slots.delete(key);
    if (s) {
      this.hooks.event?.(key, "ReplicaStopped", `version ${s.version} stopped`, s.instance.id);
      await s.instance.stop();
    }
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    if (this.reaper) clearInterval(this.reaper);
    await Promise.allSettled([...this.starting.values()]);
    const all = [...this.slots.values()];
    this.slots.clear();
    await Promise.allSettled(all.map((s) => s.instance.stop()));
  }

  private async reapIdle(): Promise<void> {
    const now = Date.now();
    for (const [key, s] of this.slots) {
      if (!s.keepWarm && now - s.lastUsedMs > this.idleTimeoutMs) {
        this.log(`[${key}] idle for ${Math.round((now - s.lastUsedMs) / 1000)} s: scaling to zero`);
        this.slots.delete(key);
        this.hooks.event?.(key, "ScaledToZero", `idle for ${Math.round((now - s.lastUsedMs) / 1000)} s: scaled to zero`, s.instance.id);
        await s.instance.stop();
      }
    }
  }

  private async waitReady(inst: RunningInstance, healthPath: string, log: (l: string) => void): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    let exited = false;
    void inst.exited.then(() => (exited = true));
    let lastErr = "";
    while (Date.now() < deadline) {
      if (exited || !inst.alive()) {
        const x = await inst.exited;
        throw new Error(`the process exited before it was ready (${x.signal ?? `exit code ${x.code}`})`);
      }
      try {
        const code = await probe(inst.hostPort, healthPath);
        if (code < 500) {
          if (code === 404) log(`warning: GET ${healthPath} answered 404; set the app's health_path to a route it serves`);
          log(`ready (GET ${healthPath} -> ${code})`);
          return;
        }
        lastErr = `GET ${healthPath} answered ${code}`;
      } catch (e) {
        lastErr = errorMessage(e);
      }
      await sleep(100);
    }
    throw new Error(`no HTTP answer on port ${inst.hostPort} within ${Math.round(this.readyTimeoutMs / 1000)} s (${lastErr})`);
  }
}

/** The uid:gid a container driver runs an image without USER as (a warning is logged). */
export const DEFAULT_NON_ROOT_USER = "65534:65534";

/**
 * The platform runs pods with runAsNonRoot: the kubelet must be able to tell from the image that
 * the user is not root, which it can only do for a numeric uid. Returns why `user` (the image's
 * USER, "uid", "uid:gid", "name" or "name:group") would fail like CreateContainerConfigError, or
 * undefined when it is acceptable (an empty USER is reported separately, as a warning).
 */
export function runAsNonRootViolation(user: string): string | undefined {
  const u = user.trim();
  if (!u) return undefined;
  const uid = u.split(":")[0]!;
  if (!/^\d+$/.test(uid)) {
    return `CreateContainerConfigError: USER ${u} is not numeric, so the platform cannot verify that the user is non-root (runAsNonRoot); use a numeric USER such as 65534 (e.g. USER 65534 or USER 1000:1000)`;
  }
  if (Number(uid) === 0) {
    return `CreateContainerConfigError: USER ${u} is root, and the platform runs pods as non-root (runAsNonRoot); use a numeric non-root USER such as 65534`;
  }
  return undefined;
}

function probe(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: p, method: "GET", timeout: 2_000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("probe timed out")));
    req.on("error", reject);
    req.end();
  });
}
