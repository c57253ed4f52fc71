/**
 * Our own packetdrill scripts (test/packetdrill/*.pkt), each checked against the real Linux
 * kernel before it was committed (docs/packetdrill.md says how), run here against the engine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatResult, runScriptText } from '../../shared/packetdrill/runner.ts';

const dir = import.meta.dirname;
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.pkt'))
  .sort();

describe('our packetdrill scripts pass against the engine', () => {
  it('finds the scripts', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(11);
  });

  for (const name of scripts) {
    it(name, () => {
      const result = runScriptText(readFileSync(join(dir, name), 'utf8'), `test/packetdrill/${name}`);
      expect(formatResult(result)).toBe(`PASS test/packetdrill/${name}`);
    });
  }
});
