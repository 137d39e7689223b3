import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { closeGracefully } from './graceful-shutdown.js';

const SHUTDOWN_GRACE_MS = 10_000;

const config = loadConfig();
const app = await buildApp(config);
closeGracefully({ log: app.log, graceMs: SHUTDOWN_GRACE_MS, close: () => app.close() });
await app.listen({ port: config.PORT, host: config.HOST });
