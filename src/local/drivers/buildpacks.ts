/**
 * The buildpacks-like path: a context without a Dockerfile gets one generated from its stack.
 * Python (requirements.txt, pyproject.toml, or a main.py/app.py/server.py) and Node (package.json)
 * are recognised. The generated Dockerfile follows the platform's rules (listens on $PORT, numeric
 * non-root USER, writable $HOME) and is printed into the build log so users can adopt it.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";

export const GENERATED_DOCKERFILE = "Dockerfile.ignite-generated";

export interface GeneratedDockerfile {
  stack: "python" | "node";
  /** Why this stack and this start command were chosen, for the build log. */
  reasons: string[];
  dockerfile: string;
}

/** The names at the top of a context listing (relative paths, maybe "./"-prefixed). */
function topLevel(files: string[]): Set<string> {
  return new Set(files.map((f) => f.replace(/^\.\//, "")).filter((f) => !f.includes("/")));
}

/** Stack markers looked for in a context listing (relative paths); "" when none is recognised. */
export function detectStack(files: string[]): "python" | "node" | "" {
  const top = topLevel(files);
  if (top.has("package.json")) return "node";
  if (top.has("requirements.txt") || top.has("pyproject.toml") || ["main.py", "app.py", "server.py"].some((f) => top.has(f))) return "python";
  return "";
}

/**
 * For a context no stack is recognised in: advice naming the managed runtime its files look like
 * (", or save it for the rust managed runtime (Cargo.toml: a Rust crate)"); "" when none.
 */
export function managedRuntimeHint(files: string[]): string {
  const top = topLevel(files);
  const runtime = top.has("Cargo.toml")
    ? "rust managed runtime (Cargo.toml: a Rust crate)"
    : top.has("go.mod") || [...top].some((f) => f.endsWith(".go"))
      ? "go managed runtime (Go sources)"
      : top.has("handler.py")
        ? "python managed runtime (handler.py)"
        : "";
  return runtime ? `, or save it for the ${runtime}` : "";
}

async function read(root: string, f: string): Promise<string | undefined> {
  return fsp.readFile(path.join(root, f), "utf8").catch(() => undefined);
}

function procfileWeb(text: string | undefined): string | undefined {
  return text
    ?.split("\n")
    .map((l) => /^web:\s*(.+)$/.exec(l.trim())?.[1])
    .find(Boolean);
}

/** Generates a Dockerfile for the extracted context at `root`; undefined when no stack is recognised. */
export async function generateDockerfile(root: string): Promise<GeneratedDockerfile | undefined> {
  const names = await fsp.readdir(root).catch(() => [] as string[]);
  const stack = detectStack(names);
  if (!stack) return undefined;
  const reasons: string[] = [];
  const web = procfileWeb(await read(root, "Procfile"));
  const lines: string[] = [];
  if (stack === "python") {
    reasons.push(`detected Python (${["requirements.txt", "pyproject.toml", "main.py", "app.py", "server.py"].filter((f) => names.includes(f)).join(", ")})`);
    lines.push("FROM python:3.12-slim", "ENV PYTHONUNBUFFERED=1 HOME=/tmp/ignite", "WORKDIR /app");
    const reqs = (await read(root, "requirements.txt")) ?? "";
    if (names.includes("requirements.txt")) lines.push("COPY requirements.txt .", "RUN pip install --no-cache-dir -r requirements.txt");
    lines.push("COPY . .");
    if (!names.includes("requirements.txt") && names.includes("pyproject.toml")) lines.push("RUN pip install --no-cache-dir .");
    let cmd: string[];
    if (web) {
      cmd = ["sh", "-c", web];
      reasons.push(`start command from Procfile: ${web}`);
    } else {
      const main = ["main.py", "app.py", "server.py"].find((f) => names.includes(f));
      const src = main ? ((await read(root, main)) ?? "") : "";
      if (main && /\buvicorn\b/i.test(reqs) && /FastAPI\s*\(/.test(src)) {
        const mod = main.replace(/\.py$/, "");
        cmd = ["sh", "-c", `exec uvicorn ${mod}:app --host 0.0.0.0 --port $PORT`];
        reasons.push(`start command: uvicorn ${mod}:app (FastAPI app in ${main}, uvicorn in requirements.txt)`);
      } else if (main) {
        cmd = ["python", main];
        reasons.push(`start command: python ${main}`);
      } else {
        cmd = ["python", "-m", "app"];
        reasons.push("no main.py/app.py/server.py or Procfile: start command python -m app");
      }
    }
    lines.push("USER 65534", `CMD ${JSON.stringify(cmd)}`);
  } else {
    let pkg: { scripts?: Record<string, string>; main?: string; dependencies?: Record<string, string> } = {};
    try {
      pkg = JSON.parse((await read(root, "package.json")) ?? "{}") as typeof pkg;
    } catch {
      reasons.push("package.json is not valid JSON: using defaults");
    }
    const major = process.versions.node.split(".")[0];
    reasons.push(`detected Node.js (package.json)`);
    lines.push(`FROM node:${major}-slim`, "ENV NODE_ENV=production HOME=/tmp/ignite", "WORKDIR /app", "COPY package*.json ./");
    if (Object.keys(pkg.dependencies ?? {}).length) {
      lines.push(names.includes("package-lock.json") ? "RUN npm ci --omit=dev" : "RUN npm install --omit=dev");
      reasons.push(`installs ${Object.keys(pkg.dependencies ?? {}).length} dependencies with npm`);
    }
    lines.push("COPY . .");
    let cmd: string[];
    if (web) {
      cmd = ["sh", "-c", web];
      reasons.push(`start command from Procfile: ${web}`);
    } else if (pkg.scripts?.["start"]) {
      cmd = ["npm", "start"];
      reasons.push(`start command: npm start (${pkg.scripts["start"]})`);
    } else {
      const main = pkg.main ?? ["server.js", "index.js", "app.js", "main.js"].find((f) => names.includes(f)) ?? "index.js";
      cmd = ["node", main];
      reasons.push(`start command: node ${main}`);
    }
    lines.push("USER 65534", `CMD ${JSON.stringify(cmd)}`);
  }
  return { stack, reasons, dockerfile: lines.join("\n") + "\n" };
}

/**
 * For drivers: when the build has no Dockerfile path, writes the generated one into the extracted
 * context and logs what was detected; returns the Dockerfile path to use (relative to the context).
 */
export async function ensureDockerfile(ctxRoot: string, dockerfilePath: string, log: (l: string) => void): Promise<string | undefined> {
  if (dockerfilePath) return dockerfilePath;
  const g = await generateDockerfile(ctxRoot);
  if (!g) return undefined;
  log(`No Dockerfile given: generating one (buildpacks-like path)`);
  for (const r of g.reasons) log(`  ${r}`);
  log(`Generated ${GENERATED_DOCKERFILE}:`);
  for (const l of g.dockerfile.trimEnd().split("\n")) log(`  | ${l}`);
  await fsp.writeFile(path.join(ctxRoot, GENERATED_DOCKERFILE), g.dockerfile);
  return GENERATED_DOCKERFILE;
}
