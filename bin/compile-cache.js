"use strict";
// Loads the CLI bundle with a V8 code cache, so a run deserializes compiled code instead of
// parsing and compiling about 1 MB of JavaScript again (Node 22 has module.enableCompileCache for
// this; Node 20 offers only vm.Script's cachedData, hence a CommonJS bundle).
//
// The cache lives in $XDG_CACHE_HOME/dodil/compile (default ~/.cache/dodil/compile), one file per
// installed bundle, named after the bundle's path, size and mtime and the Node version. A cache
// made at the end of a run holds the functions that run compiled, so it is made again (at the end
// of the run) when it is missing, rejected by V8, or when a command area it has not seen runs
// (`config set` first, then `app list`, which needs the gRPC and protobuf code): the new one holds
// both, since everything the old cache gave is still compiled. That is one rewrite per area at most.
// V8 checks the source and its own version and flags before using a cache; anything wrong with the
// file means an ordinary compile. NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) turns it off.
//
// File format: a header line "IGNITE-CC1 <areas as JSON>\n", then V8's cached data.

const { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } = require("node:fs");
const { createRequire } = require("node:module");
const { homedir } = require("node:os");
const { dirname, isAbsolute, join, resolve } = require("node:path");
const { pathToFileURL } = require("node:url");
const vm = require("node:vm");

const MAGIC = "IGNITE-CC1 ";

/**
 * Evaluates the CommonJS file at `file` and returns its exports. `area` names the part of the CLI
 * this run uses (e.g. "ignite app"), so the cache grows to cover each part once.
 */
exports.loadWithCompileCache = function loadWithCompileCache(file, area) {
  // ASCII by construction (scripts/bundle.mjs checks), so latin1: the same text, decoded faster.
  const source = readFileSync(file, "latin1");
  const cacheFile = process.env.NODE_DISABLE_COMPILE_CACHE ? undefined : cachePath(file);
  const cache = cacheFile ? readCache(cacheFile) : undefined;
  // The CommonJS module wrapper, on the source's first line so stack positions stay right, plus
  // the bundle's import() for external ES modules (scripts/bundle.mjs says why it is a parameter).
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __ignite_import) {${source}\n})`, {
    filename: file,
    cachedData: cache && cache.data,
  });
  const covered = cache && !script.cachedDataRejected ? cache.areas : [];
  if (cacheFile && (!cache || script.cachedDataRejected || !covered.includes(area))) {
    process.once("exit", () => writeCache(cacheFile, script, [...covered, area]));
  }
  const module = { exports: {}, filename: file };
  const importFromBundle = (specifier) => import(specifier.startsWith(".") ? pathToFileURL(resolve(dirname(file), specifier)).href : specifier);
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), importFromBundle);
  return module.exports;
};

/** The areas a cache covers and V8's data, or undefined when there is no usable file. */
function readCache(cacheFile) {
  let bytes;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return undefined; // none yet: this run writes one
  }
  const end = bytes.indexOf(0x0a);
  const header = end > 0 ? bytes.toString("latin1", 0, end) : "";
  if (!header.startsWith(MAGIC)) return undefined;
  try {
    const areas = JSON.parse(header.slice(MAGIC.length));
    return Array.isArray(areas) ? { areas, data: bytes.subarray(end + 1) } : undefined;
  } catch {
    return undefined;
  }
}

function cacheRoot() {
  // The XDG spec ignores a relative XDG_CACHE_HOME; so does src/cli/local-context.ts.
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "dodil", "compile");
}

/** `<root>/main-<hash of the bundle's path>-<size>-<mtime>-<node version>-<arch>.cache`. */
function cachePath(file) {
  try {
    const root = cacheRoot();
    const { size, mtimeMs } = statSync(file);
    return join(root, `${cacheStem(file)}-${size}-${Math.trunc(mtimeMs)}-${process.version}-${process.arch}.cache`);
  } catch {
    return undefined;
  }
}

/** FNV-1a of the bundle's path: one cache file per installation, without loading node:crypto. */
function cacheStem(file) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < file.length; i += 1) hash = Math.imul(hash ^ file.charCodeAt(i), 0x01000193) >>> 0;
  return `main-${hash.toString(16).padStart(8, "0")}`;
}

/** Writes the cache atomically and removes this installation's older ones; never fails the run. */
function writeCache(cacheFile, script, areas) {
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    const root = dirname(cacheFile);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, "w", 0o600);
    try {
      writeSync(fd, `${MAGIC}${JSON.stringify([...new Set(areas)])}\n`, null, "latin1");
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, cacheFile);
    const stem = cacheFile.slice(root.length + 1).split("-").slice(0, 2).join("-") + "-";
    for (const name of readdirSync(root)) {
      if (name.startsWith(stem) && name.endsWith(".cache") && join(root, name) !== cacheFile) unlinkSync(join(root, name));
    }
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
  }
}
