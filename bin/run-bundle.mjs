#!/usr/bin/env node
/**
 * Runs the server bundle (a CommonJS script, bin/build.mjs) in this process with V8's code cache:
 * the bytecode of the bundle's functions that an earlier run compiled, kept next to the bundle
 * (`<bundle>.code-cache`). A restart then parses and compiles only what that run did not use:
 * after a crash, the class comes back that much sooner (`npm run bench:recovery`).
 *
 * The cache is written once per run, `TCPLAB_CODE_CACHE_AFTER_MS` (default 5 s) after the start,
 * so it holds what the server compiled by then (starting, and after a restart, restoring rooms
 * and serving the students coming back), and replaces the file atomically. A cache V8 refuses
 * (another bundle, another Node) is said on stderr and left for the new one; a cache that cannot
 * be written costs nothing but the next start's time.
 *
 * `node bin/run-bundle.mjs <bundle>` runs one (tests do); `npm start` calls `runBundle` after the
 * build (bin/start.mjs).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { codeCacheOf } from './build.mjs';

const DEFAULT_CACHE_AFTER_MS = 5000;

export function runBundle(bundle) {
  const file = resolve(bundle);
  const cacheFile = codeCacheOf(file);
  const source = readFileSync(file, 'utf8');
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // none yet: this run writes it
  }
  // The CommonJS wrapper Node puts around a module, so the bundle runs as `node <bundle>` would.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachedData && script.cachedDataRejected)
    process.stderr.write(`code cache ${cacheFile} does not fit this bundle or Node; writing a new one\n`);
  const asked = Number(process.env.TCPLAB_CODE_CACHE_AFTER_MS || Number.NaN);
  const after = Number.isFinite(asked) && asked >= 0 ? asked : DEFAULT_CACHE_AFTER_MS;
  setTimeout(() => {
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch (e) {
      process.stderr.write(`code cache ${cacheFile} not written: ${e?.message ?? e}\n`);
    }
  }, after).unref();
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.argv[2]) {
    process.stderr.write('usage: node bin/run-bundle.mjs <bundle>\n');
    process.exit(2);
  }
  runBundle(process.argv[2]);
}
