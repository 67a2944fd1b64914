/**
 * The first steps every driver's build shares: unpack the uploaded context into the image's own
 * directory (through the safe extractor), find or generate the Dockerfile, and check it stays
 * inside the context.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { ArchiveError, extractArchive, safeEntryPath } from "../../wire/archive.js";
import { ensureDockerfile, managedRuntimeHint } from "./buildpacks.js";
import { BuildFailure, type BuildRequest } from "./types.js";

export interface UnpackedContext {
  /** Real path of the unpacked context root. */
  root: string;
  /** Real path of the Dockerfile, inside `root`. */
  dockerfile: string;
}

/** Where a build unpacks its context; the driver removes it when the build ends. */
export const contextDir = (req: BuildRequest) => path.join(req.imageDir, "context");

export async function unpackBuildContext(req: BuildRequest, log: (line: string) => void): Promise<UnpackedContext> {
  const dir = contextDir(req);
  await fsp.rm(dir, { recursive: true, force: true });
  log("Extracting the build context");
  try {
    await extractArchive(req.contextFile, dir, req.contextName ? { singleFileName: req.contextName } : {});
  } catch (e) {
    if (e instanceof ArchiveError) throw new BuildFailure(e.message);
    throw e;
  }
  const root = await fsp.realpath(dir);
  const dockerfilePath = await ensureDockerfile(root, req.dockerfilePath, log);
  if (!dockerfilePath) {
    throw new BuildFailure(
      "no Dockerfile path was given and no stack was recognised in the context (requirements.txt, pyproject.toml or main.py for Python; package.json for Node): pass a Dockerfile path" +
        managedRuntimeHint(await fsp.readdir(root).catch(() => [] as string[])),
    );
  }
  let relative: string;
  try {
    relative = safeEntryPath(dockerfilePath);
  } catch {
    throw new BuildFailure(`Dockerfile path '${dockerfilePath}' escapes the build context`);
  }
  const dockerfile = await fsp.realpath(path.join(root, relative)).catch(() => "");
  if (!dockerfile || !dockerfile.startsWith(root + path.sep)) throw new BuildFailure(`Dockerfile '${dockerfilePath}' not found in the build context`);
  return { root, dockerfile };
}
