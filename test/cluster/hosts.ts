import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { exitOf } from '../helpers/jobs.js';

const run = promisify(execFile);

/**
 * Machines for a cluster test: each host a network namespace of its own, joined by veth pairs to a
 * bridge in the first host's namespace, on a private /24 that exists only inside these namespaces
 * (nothing is added to the machine's own network, so no traffic leaves it). Without root, or where
 * namespaces cannot be made, every host is this machine's loopback instead: `kind` says which.
 */
export interface ClusterHosts {
  kind: 'namespaces' | 'loopback';
  /** Why namespaces were not used, on loopback. */
  reason: string | null;
  /** The host's address, as the other hosts reach it. */
  address(host: string): string;
  /** A process on the host: inside its namespace, with the host's network only. */
  spawn(host: string, command: string, args: string[], options: SpawnOptions): ChildProcess;
  /** SIGKILL to every process on the host, as when its power goes. */
  kill(host: string): Promise<number[]>;
  /** Kills every process this made, and removes the namespaces with their links. */
  close(): Promise<void>;
}

/** A private /24 for the namespaces; any would do, since it exists only inside them. */
const subnetPrefix = (): string => `10.213.${randomBytes(1)[0]}`;
const MAX_HOSTS = 250;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function namespacePids(namespace: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', namespace]).catch(() => ({ stdout: '' }));
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Namespaces `<tag>-<host>`, a bridge in the first, and one veth pair per other host. */
async function namespaceHosts(names: string[]): Promise<ClusterHosts> {
  if (names.length > MAX_HOSTS) throw new RangeError(`at most ${MAX_HOSTS} hosts`);
  const tag = `mlpc${randomBytes(3).toString('hex')}`;
  const prefix = subnetPrefix();
  const namespace = (host: string): string => `${tag}-${host}`;
  const addresses = new Map(names.map((host, i) => [host, `${prefix}.${i + 1}`]));
  const created: string[] = [];
  const children: ChildProcess[] = [];
  const hosts: ClusterHosts = {
    kind: 'namespaces',
    reason: null,
    address: (host) => addresses.get(host)!,
    spawn(host, command, args, options) {
      const child = spawn('ip', ['netns', 'exec', namespace(host), command, ...args], options);
      children.push(child);
      return child;
    },
    async kill(host) {
      const pids = await namespacePids(namespace(host));
      killAll(pids);
      return pids;
    },
    async close() {
      for (const name of created) killAll(await namespacePids(name));
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map(exitOf));
      // Deleting a namespace deletes the veth ends and the bridge inside it, and with them their peers.
      for (const name of created.reverse()) await ip('netns', 'delete', name).catch(() => undefined);
    },
  };
  try {
    const [hub, ...others] = names;
    for (const host of names) {
      await ip('netns', 'add', namespace(host));
      created.push(namespace(host));
      await ip('-n', namespace(host), 'link', 'set', 'lo', 'up');
    }
    await ip('-n', namespace(hub), 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', namespace(hub), 'addr', 'add', `${addresses.get(hub)}/24`, 'dev', 'br0');
    await ip('-n', namespace(hub), 'link', 'set', 'br0', 'up');
    for (const [i, host] of others.entries()) {
      const port = `port${i}`;
      await ip('-n', namespace(hub), 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace(host));
      await ip('-n', namespace(hub), 'link', 'set', port, 'master', 'br0', 'up');
      await ip('-n', namespace(host), 'addr', 'add', `${addresses.get(host)}/24`, 'dev', 'eth0');
      await ip('-n', namespace(host), 'link', 'set', 'eth0', 'up');
    }
    return hosts;
  } catch (error) {
    await hosts.close();
    throw error;
  }
}

/** Every host on this machine's loopback; a host's processes are the ones spawned for it. */
function loopbackHosts(reason: string): ClusterHosts {
  const byHost = new Map<string, ChildProcess[]>();
  const all = (): ChildProcess[] => [...byHost.values()].flat();
  return {
    kind: 'loopback',
    reason,
    address: () => '127.0.0.1',
    spawn(host, command, args, options) {
      const child = spawn(command, args, options);
      byHost.set(host, [...(byHost.get(host) ?? []), child]);
      return child;
    },
    async kill(host) {
      const children = byHost.get(host) ?? [];
      for (const child of children) child.kill('SIGKILL');
      return children.flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
    },
    async close() {
      for (const child of all()) child.kill('SIGKILL');
      await Promise.all(all().map(exitOf));
    },
  };
}

/**
 * Namespaces when running as root (CI does: a failure there fails the test rather than falling
 * back); loopback otherwise, with the reason.
 */
export async function clusterHosts(names: string[]): Promise<ClusterHosts> {
  if (process.getuid?.() !== 0) return loopbackHosts('not running as root, so no network namespaces can be made');
  return namespaceHosts(names);
}
