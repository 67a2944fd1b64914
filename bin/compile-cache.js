"use strict";
// Loads the CLI bundle with a V8 code cache, so a run deserializes compiled code instead of
// parsing and compiling about 1 MB of JavaScript again (Node 22 has module.enableCompileCache for
// this; Node 20 offers only vm.Script's cachedData, hence a CommonJS bundle).
//
// The cache lives in $XDG_CACHE_HOME/dodil/compile (default ~/.cache/dodil/compile), one file per
// installed bundle, named after the bundle's path, size and mtime and the Node version. It is written once, when
// missing or rejected by V8, at the end of that run, so it holds the functions that run compiled.
// V8 checks the source and its own version and flags before using it; anything wrong with the file
// means an ordinary compile. NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) turns it off.

const { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } = require("node:fs");
const { createRequire } = require("node:module");
const { homedir } = require("node:os");
const { dirname, join, resolve } = require("node:path");
const { pathToFileURL } = require("node:url");
const vm = require("node:vm");

/** Evaluates the CommonJS file at `file` and returns its exports. */
exports.loadWithCompileCache = function loadWithCompileCache(file) {
  // ASCII by construction (scripts/bundle.mjs checks), so latin1: the same text, decoded faster.
  const source = readFileSync(file, "latin1");
  const cacheFile = process.env.NODE_DISABLE_COMPILE_CACHE ? undefined : cachePath(file);
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // No cache yet: this run writes one.
  }
  // The CommonJS module wrapper, on the source's first line so stack positions stay right, plus
  // the bundle's import() for external ES modules (scripts/bundle.mjs says why it is a parameter).
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __ignite_import) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    process.once("exit", () => writeCache(cacheFile, script));
  }
  const module = { exports: {}, filename: file };
  const importFromBundle = (specifier) => import(specifier.startsWith(".") ? pathToFileURL(resolve(dirname(file), specifier)).href : specifier);
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), importFromBundle);
  return module.exports;
};

function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "dodil", "compile");
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
function writeCache(cacheFile, script) {
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    const root = dirname(cacheFile);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, "w", 0o600);
    try {
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
