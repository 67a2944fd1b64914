/**
 * Build manager: runs driver builds in the background, persists each build's record and log
 * (JSON lines, one entry per line, offset = line index), and lets readers replay and follow logs.
 */
import { appendFileSync, promises as fsp } from "node:fs";
import * as path from "node:path";
import { BuildStatus } from "../gen/dodil/ignite/v1/common_pb.js";
import { BuildFailure, type BuiltImage, type Driver } from "./drivers/types.js";
import { errorMessage } from "./errors.js";
import type { BuildRecord, Store } from "./store.js";
import { readJson, ulid } from "./util.js";

export interface LogLine {
  offset: number;
  timestampMs: number;
  line: string;
}

interface ActiveBuild {
  record: BuildRecord;
  done: Promise<BuildRecord>;
  lines: number;
  listeners: Set<() => void>;
  abort: AbortController;
}

export interface BuildParams {
  org: string;
  app: string;
  contextDigest: string;
  contextName?: string;
  dockerfilePath: string;
  buildArgs: Record<string, string>;
}

export class BuildManager {
  private active = new Map<string, ActiveBuild>();
  /** Called (not awaited) when a build ends. */
  onFinished: (b: BuildRecord) => Promise<void> = async () => undefined;

  constructor(
    private store: Store,
    private driver: Driver,
    private log: (line: string) => void,
  ) {}

  /** Marks builds interrupted by a previous crash/stop as cancelled. */
  async recover(): Promise<void> {
    for (const id of await this.store.listBuildIds()) {
      const b = await this.store.getBuild(id);
      if (b && (b.status === BuildStatus.PENDING || b.status === BuildStatus.RUNNING)) {
        b.status = BuildStatus.CANCELLED;
        b.error = "the build was interrupted by a control plane restart";
        b.finishedAtMs = Date.now();
        await this.store.putBuild(b);
      }
    }
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  async start(p: BuildParams): Promise<BuildRecord> {
    const id = `bld_${ulid()}`;
    const record: BuildRecord = {
      id,
      org: p.org,
      app: p.app,
      status: BuildStatus.PENDING,
      contextDigest: p.contextDigest,
      ...(p.contextName ? { contextName: p.contextName } : {}),
      dockerfilePath: p.dockerfilePath,
      buildArgs: p.buildArgs,
      imageRef: `local.ignite/${p.org}/${p.app}:${id.toLowerCase()}`,
      createdAtMs: Date.now(),
    };
    await fsp.mkdir(this.store.buildDir(id), { recursive: true });
    await fsp.writeFile(path.join(this.store.buildDir(id), "log.jsonl"), "");
    await this.store.putBuild(record);
    const a: ActiveBuild = { record, lines: 0, listeners: new Set(), abort: new AbortController(), done: undefined as unknown as Promise<BuildRecord> };
    this.active.set(id, a);
    a.done = this.run(a);
    return { ...record };
  }

  private append(a: ActiveBuild, line: string): void {
    const entry = { offset: a.lines, timestampMs: Date.now(), line };
    // sync append: entries stay ordered and are on disk before listeners read them
    appendFileSync(path.join(this.store.buildDir(a.record.id), "log.jsonl"), JSON.stringify(entry) + "\n");
    a.lines++;
    for (const l of a.listeners) l();
  }

  private async run(a: ActiveBuild): Promise<BuildRecord> {
    const r = a.record;
    await new Promise((res) => setImmediate(res));
    r.status = BuildStatus.RUNNING;
    r.startedAtMs = Date.now();
    await this.store.putBuild(r);
    this.log(`build ${r.id} started for ${r.org}/${r.app}`);
    this.append(a, `Building ${r.org}/${r.app} with the ${this.driver.name} driver (build ${r.id})`);
    const args = Object.keys(r.buildArgs);
    if (args.length) this.append(a, `Build args: ${args.sort().map((k) => `${k}=${redact(k, r.buildArgs[k]!)}`).join(" ")}`);
    try {
      const imageDir = this.store.imageDir(r.id);
      await fsp.rm(imageDir, { recursive: true, force: true });
      await fsp.mkdir(imageDir, { recursive: true });
      await this.driver.build(
        {
          buildId: r.id,
          contextFile: this.store.blobPath(r.contextDigest),
          ...(r.contextName ? { contextName: r.contextName } : {}),
          dockerfilePath: r.dockerfilePath,
          buildArgs: r.buildArgs,
          imageDir,
          imageRef: r.imageRef,
        },
        (line) => this.append(a, line),
        a.abort.signal,
      );
      r.status = BuildStatus.SUCCEEDED;
      this.append(a, `Successfully built ${r.imageRef}`);
    } catch (e) {
      r.status = a.abort.signal.aborted ? BuildStatus.CANCELLED : BuildStatus.FAILED;
      r.error = e instanceof BuildFailure ? e.message : `internal error: ${errorMessage(e)}`;
      this.append(a, `ERROR: ${r.error}`);
      await fsp.rm(this.store.imageDir(r.id), { recursive: true, force: true }).catch(() => undefined);
    }
    r.finishedAtMs = Date.now();
    await this.store.putBuild(r);
    this.log(`build ${r.id} ${r.status === BuildStatus.SUCCEEDED ? "succeeded" : `failed: ${r.error}`}`);
    this.active.delete(r.id);
    for (const l of a.listeners) l();
    void this.onFinished({ ...r }).catch((e) => this.log(`updating the draft after build ${r.id}: ${errorMessage(e)}`));
    return { ...r };
  }

  /** Waits for a build to end; returns its final record (undefined when unknown). */
  async wait(id: string): Promise<BuildRecord | undefined> {
    const a = this.active.get(id);
    if (a) return a.done;
    return this.store.getBuild(id);
  }

  async image(b: BuildRecord): Promise<BuiltImage | undefined> {
    const img = await readJson<BuiltImage>(path.join(this.store.imageDir(b.id), "image.json"));
    if (!img || !(await this.driver.imageAvailable(img))) return undefined;
    return img;
  }

  async readLog(id: string, fromOffset: number): Promise<LogLine[]> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.store.buildDir(id), "log.jsonl"), "utf8");
    } catch {
      return [];
    }
    const out: LogLine[] = [];
    for (const l of text.split("\n")) {
      if (!l) continue;
      try {
        const e = JSON.parse(l) as LogLine;
        if (e.offset >= fromOffset) out.push(e);
      } catch {
        // a torn last line after a crash
      }
    }
    return out;
  }

  /** Subscribes to new log lines / the end of an active build; returns an unsubscribe function. */
  subscribe(id: string, fn: () => void): () => void {
    const a = this.active.get(id);
    if (!a) return () => undefined;
    a.listeners.add(fn);
    return () => a.listeners.delete(fn);
  }

  async cancelAll(): Promise<void> {
    const pending = [...this.active.values()];
    for (const a of pending) a.abort.abort();
    await Promise.allSettled(pending.map((a) => a.done));
  }
}

export function redact(key: string, value: string): string {
  return /token|secret|password|passwd|key|credential|auth/i.test(key) && !/^https?:\/\/[^@]*$/.test(value) ? "***" : value;
}
