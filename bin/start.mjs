#!/usr/bin/env node
/**
 * `npm start`: brings the build up to date (bin/build.mjs: the web app and the server bundle,
 * only what changed since their last build), then runs the server bundle in this same process
 * with V8's code cache (bin/run-bundle.mjs). One Node start instead of two (a separate build step,
 * then the server): a restart after a crash is timed by `npm run bench:recovery`.
 */
import { ensureBuilt, SERVER_BUNDLE } from './build.mjs';
import { runBundle } from './run-bundle.mjs';

try {
  await ensureBuilt();
} catch (e) {
  process.stderr.write(`build failed: ${e?.stack ?? e}\n`);
  process.exit(1);
}
runBundle(SERVER_BUNDLE);
