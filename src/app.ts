import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { installApiKeyCheck } from './api/auth.js';
import { clientErrorHandler, installErrorHandler, replyWithError } from './api/error-handler.js';
import { httpServerOptions, installRequestLimits } from './api/http-limits.js';
import { installRequestMetrics } from './api/metrics.js';
import { registerThirdPartyPlugins } from './api/plugins.js';
import { logSerializers, OneLineRequestLog } from './api/request-log.js';
import { datasetRoutes } from './api/routes/datasets.js';
import { gradientCheckRoutes } from './api/routes/gradcheck.js';
import { healthRoutes } from './api/routes/health.js';
import { inferenceV2Routes } from './api/routes/inference-v2.js';
import { jobRoutes } from './api/routes/jobs.js';
import { modelRoutes } from './api/routes/models.js';
import { predictRoutes } from './api/routes/predict.js';
import { queueDashboardRoutes } from './api/routes/queues.js';
import { sweepRoutes } from './api/routes/sweeps.js';
import { webRoutes } from './api/routes/web.js';
import { createServices, type Services } from './api/services.js';
import { SERVICE_VERSION, type AppConfig } from './config.js';

/** Third-party plugins, then our services, then the routes. Tests pass services they keep a hand on. */
export async function buildApp(config: AppConfig, services: Services = createServices(config)): Promise<FastifyInstance> {
  const app = Fastify({
    ...httpServerOptions(config),
    logger: { level: config.LOG_LEVEL, serializers: logSerializers },
    logController: new OneLineRequestLog(),
    bodyLimit: config.MAX_JSON_BODY_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    frameworkErrors: replyWithError,
    clientErrorHandler: clientErrorHandler(config.MAX_URL_BYTES),
  });
  await registerThirdPartyPlugins(app, config);

  app.addHook('onReady', () => services.sweepOrphans(app.log));
  app.addHook('onClose', () => services.close());
  installErrorHandler(app);
  installRequestLimits(app, config);
  installApiKeyCheck(app, config.API_KEYS);
  installRequestMetrics(app, services.metrics);

  await app.register(healthRoutes, { services });
  await app.register(datasetRoutes, { datasets: services.datasets, maxUploadBytes: config.MAX_UPLOAD_BYTES });
  await app.register(jobRoutes, { jobs: services.jobs, events: services.events, config });
  await app.register(modelRoutes, { models: services.models });
  await app.register(predictRoutes, { models: services.models });
  await app.register(inferenceV2Routes, { prefix: '/v2', models: services.models, readiness: services.readiness, serverVersion: SERVICE_VERSION });
  await app.register(gradientCheckRoutes, { gradientCheck: services.gradientCheck });
  await app.register(sweepRoutes, { sweeps: services.sweeps, heartbeatMs: config.SSE_HEARTBEAT_MS });
  if (config.ENABLE_DASHBOARDS) await app.register(queueDashboardRoutes, { queue: services.queue });
  await app.register(webRoutes);
  return app;
}
