import { buildApp } from './app.js';
import { loadConfigOrReport } from './config.js';
import { closeGracefully } from './graceful-shutdown.js';

const SHUTDOWN_GRACE_MS = 10_000;

const config = loadConfigOrReport() ?? process.exit(1);
const app = await buildApp(config);
closeGracefully({ log: app.log, graceMs: SHUTDOWN_GRACE_MS, close: () => app.close() });
await app.listen({ port: config.PORT, host: config.HOST });
