/**
 * The build frame the container drivers share (podman with buildah, the Docker Engine): the image
 * record of an engine's inspect, and containerBuild, which checks and pulls what a Dockerfile names
 * before the engine's own build runs.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { DockerfileError, expandVars, parseDockerfile, splitWords } from "./dockerfile.js";
import { errorMessage } from "../errors.js";
import { checkImageRefOwner, usableByOrg } from "./image-ownership.js";
import { writeJson } from "../atomic-fs.js";
import { buildCredentialsFor, credentialScrubber, PullFailure, registryHost } from "./image-pull.js";
import { BuildFailure, type BuildRequest, type BuiltImage, type Driver, type ImageConfig } from "./types.js";
import { contextDir, unpackBuildContext } from "./unpack-context.js";
import { secretScrubber } from "./build-args.js";

/** What `podman image inspect` and the Docker Engine's image inspect both answer (the part used here). */
export interface PodmanImageInspect {
  Id: string;
  Created?: string;
  RepoTags?: string[] | null;
  /** The manifest digest the image was pulled by (podman). */
  Digest?: string;
  RepoDigests?: string[] | null;
  /** podman only: the names the image had, newest first (what an untagged image was). */
  NamesHistory?: string[] | null;
  Config?: {
    User?: string;
    Env?: string[] | null;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, unknown> | null;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
}

/** The BuiltImage record of an image in a container engine's storage. */
export function builtImageFromInspect(ref: string, driver: string, i: PodmanImageInspect): BuiltImage {
  // the current names; an image without any is known by what it was called
  const names = i.RepoTags?.length ? i.RepoTags : (i.NamesHistory ?? []);
  return { ref, driver, dir: i.Id, config: imageConfigFromInspect(i), createdAtMs: (i.Created && Date.parse(i.Created)) || Date.now(), names };
}

/** What a container engine does for containerBuild: check and inspect images, and build one. */
export interface ContainerEngine {
  name: string;
  inspectImage(ref: string): Promise<PodmanImageInspect | undefined>;
  /** The error for a base image missing from local storage (how to get it differs per engine). */
  missingBaseImage(ref: string): string;
  /** Pulls a missing base image (absent: offline, or an engine that cannot). */
  pullImage?: Driver["pullImage"];
  keepForOrg?: Driver["keepForOrg"];
  privatelyPulledElsewhere?: Driver["privatelyPulledElsewhere"];
  /** Builds the unpacked context into `req.imageRef`, logging through `out`; throws a BuildFailure. */
  buildImage(context: { root: string; dockerfile: string }, out: (line: string) => void, clean: (text: string) => string): Promise<void>;
}

/**
 * A build on a container engine (the podman and docker drivers): build-arg values scrubbed from the
 * log, the context unpacked, base images required locally (no registry is reachable), the engine's
 * build, then the image recorded next to the build (image.json) and announced in its log, with a
 * warning when nothing could start it. An image of another organization's local namespace, named in
 * FROM, COPY --from or RUN --mount from=, is refused (by its name, or as absent when a short name
 * resolves to one). The unpacked context is always removed; a Dockerfile the
 * parser refuses is a build failure.
 */
export async function containerBuild(engine: ContainerEngine, req: BuildRequest, log: (line: string) => void): Promise<BuiltImage> {
  const clean = secretScrubber(req.buildArgs);
  const out = (line: string) => log(clean(line));
  const privatelyPulled: Array<{ id: string; registry: string }> = [];
  try {
    const context = await unpackBuildContext(req, out);
    for (const base of dockerfileImages(await fsp.readFile(context.dockerfile, "utf8"), req.buildArgs)) {
      try {
        checkImageRefOwner(req.org, base, "base image", req.privateRegistries);
      } catch (e) {
        throw new BuildFailure(errorMessage(e));
      }
      const found = await engine.inspectImage(base);
      const names = found ? (builtImageFromInspect(base, engine.name, found).names ?? []) : [];
      if (!found || !usableByOrg(req.org, names, req.privateRegistries ?? [], engine.privatelyPulledElsewhere)) {
        const pulled = await pullBaseImage(engine, req, base, out);
        if (pulled) privatelyPulled.push(pulled);
      }
    }
    const startedMs = Date.now();
    await engine.buildImage(context, out, clean);
    const inspect = await engine.inspectImage(req.imageRef);
    if (!inspect) throw new BuildFailure(`the built image ${req.imageRef} cannot be found`);
    const image = builtImageFromInspect(req.imageRef, engine.name, inspect);
    if (!image.config.cmd && !image.config.entrypoint) out(`[Warning] the image has no CMD or ENTRYPOINT; it cannot be started`);
    await writeJson(path.join(req.imageDir, "image.json"), image);
    out(`Built image ${inspect.Id.replace(/^sha256:/, "").slice(0, 12)} in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
    return image;
  } catch (e) {
    if (e instanceof DockerfileError) throw new BuildFailure(e.message);
    throw e;
  } finally {
    await fsp.rm(contextDir(req), { recursive: true, force: true });
    // the build needed the registry names; from now on only this org sees what its credentials pulled
    for (const p of privatelyPulled) await engine.keepForOrg?.(p.id, req.org, p.registry).catch((e: unknown) => out(`[Warning] ${errorMessage(e)}`));
  }
}

/**
 * A FROM image missing locally, pulled like buildah's `--pull=missing` with the org's build
 * registry credentials for its registry; offline, or when the registry does not answer, the
 * engine's "not available offline" error. The build then runs with `--pull=never` against it.
 */
async function pullBaseImage(engine: ContainerEngine, req: BuildRequest, base: string, out: (line: string) => void): Promise<{ id: string; registry: string } | undefined> {
  if (!engine.pullImage) throw new BuildFailure(engine.missingBaseImage(base));
  const registry = registryHost(base);
  const credentials = buildCredentialsFor(registry, req.registryCredentials);
  const scrub = credentialScrubber(credentials);
  out(`Pulling base image ${base} from ${registry}${credentials ? " with the org's build registry credentials" : ""}`);
  try {
    const pulled = await engine.pullImage({ ref: base, org: req.org, log: out, ...(credentials ? { credentials } : {}) });
    out(`Pulled ${base} (${pulled.digest || pulled.dir})`);
    return credentials ? { id: pulled.dir, registry } : undefined;
  } catch (e) {
    if (e instanceof PullFailure && e.kind === "network") throw new BuildFailure(`${engine.missingBaseImage(base)} (registry ${e.registry} did not answer: ${scrub(e.message)})`);
    throw new BuildFailure(scrub(errorMessage(e)));
  }
}

export function imageConfigFromInspect(i: PodmanImageInspect): ImageConfig {
  const c = i.Config ?? {};
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const exposedPorts: number[] = [];
  for (const k of Object.keys(c.ExposedPorts ?? {})) {
    const p = Number(k.split("/")[0]);
    if (p > 0 && !exposedPorts.includes(p)) exposedPorts.push(p);
  }
  return {
    workdir: c.WorkingDir || "/",
    env,
    entrypoint: c.Entrypoint?.length ? c.Entrypoint : null,
    cmd: c.Cmd?.length ? c.Cmd : null,
    user: c.User ?? "",
    exposedPorts,
    labels: c.Labels ?? {},
    stopSignal: c.StopSignal || "SIGTERM",
  };
}

/**
 * The external images a Dockerfile names, each of which the engine would read: FROM lines, COPY
 * --from and RUN --mount from= (with ARGs expanded as the engine would: global ARGs in FROM, the
 * stage's ARGs in its instructions; stages, stage indexes and scratch excluded). A RUN step that
 * asks for the host's network or an insecure sandbox is a DockerfileError: it would pass around the
 * isolation of build steps (docs/threat-model.md, "Builds and compiles").
 */
export function dockerfileImages(dockerfile: string, buildArgs: Record<string, string>): string[] {
  const globalArgs: Record<string, string> = {};
  let stageArgs: Record<string, string> = {};
  const stages: string[] = [];
  const out: string[] = [];
  const add = (ref: string) => {
    if (ref && ref !== "scratch" && !/^\d+$/.test(ref) && !stages.includes(ref.toLowerCase()) && !out.includes(ref)) out.push(ref);
  };
  for (const i of parseDockerfile(dockerfile)) {
    if (i.keyword === "ARG") {
      const args = stages.length === 0 ? globalArgs : stageArgs;
      for (const w of splitWords(i.rest)) {
        const eq = w.indexOf("=");
        const name = eq < 0 ? w : w.slice(0, eq);
        // a stage's ARG without a default takes the global one's value
        const fallback = eq < 0 ? (stages.length ? globalArgs[name] : undefined) : expandVars(w.slice(eq + 1), args);
        const v = Object.prototype.hasOwnProperty.call(buildArgs, name) ? buildArgs[name] : fallback;
        if (v !== undefined) args[name] = v;
      }
    } else if (i.keyword === "FROM") {
      const words = splitWords(expandVars(i.rest, globalArgs));
      // a stage's own name is not yet usable in its FROM
      add(words[0] ?? "");
      stages.push(words.length >= 3 && words[1]!.toLowerCase() === "as" ? words[2]!.toLowerCase() : "");
      stageArgs = {};
    } else if ((i.keyword === "COPY" || i.keyword === "ADD") && i.flags["from"] !== undefined) {
      add(expandVars(i.flags["from"], stageArgs));
    } else if (i.keyword === "RUN") {
      for (const [flag, value] of i.flagList) {
        if (flag === "network" && value !== "none") throw new DockerfileError(`line ${i.line}: RUN --network=${value}: build steps run without a network here`);
        if (flag === "security" && value !== "sandbox") throw new DockerfileError(`line ${i.line}: RUN --security=${value}: build steps run sandboxed here`);
        const from = flag === "mount" ? /(?:^|,)from=([^,]*)/.exec(value)?.[1] : undefined;
        if (from !== undefined) add(expandVars(from, stageArgs));
      }
    }
  }
  return out;
}
