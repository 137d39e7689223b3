import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadConfigOrReport } from './config.js';

const SHUTDOWN_GRACE_MS = 10_000;

const config = loadConfigOrReport() ?? process.exit(1);
const app = await buildApp(config);

closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ err }) => {
  if (err) app.log.error({ err }, 'closing after an uncaught error');
  await app.close();
});

await app.listen({ port: config.PORT, host: config.HOST });
