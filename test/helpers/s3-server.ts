import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** s3rver's fixed credentials: it checks signatures, so the SDK must sign with these. */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;
export const TEST_BUCKET = 'mlp-test';

export interface TestS3Server {
  endpoint: string;
  port: number;
  /** Environment for a service that stores under `prefix` in the test bucket. */
  env(prefix: string): Record<string, string>;
  /** Stops answering, as in an outage; `start` brings it back on the same port with the same objects. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A real S3 REST server on a loopback port (0 for a free one), with one bucket, its objects in a temp folder. */
export async function startS3Server(options: { address?: string; port?: number; directory?: string } = {}): Promise<TestS3Server> {
  const address = options.address ?? '127.0.0.1';
  const directory = options.directory ?? await mkdtemp(join(tmpdir(), 's3rver-'));
  const serve = async (port: number) => {
    const server = new S3rver({ address, port, silent: true, directory, configureBuckets: [{ name: TEST_BUCKET }] });
    return { server, port: (await server.run()).port };
  };
  let running: { server: S3rver; port: number } | null = await serve(options.port ?? 0);
  const { port } = running;
  const endpoint = `http://${address}:${port}`;
  return {
    endpoint,
    port,
    env: (prefix) => ({ STORAGE_URL: `s3://${TEST_BUCKET}/${prefix}`, AWS_ENDPOINT_URL: endpoint, ...S3RVER_CREDENTIALS }),
    async stop() {
      await running?.server.close();
      running = null;
    },
    async start() {
      running ??= await serve(port);
    },
    async close() {
      await running?.server.close();
      running = null;
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}
