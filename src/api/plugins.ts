import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppConfig } from '../config.js';

/** An IDX pair or one file, plus one spare so a stray part is named as unknown rather than cut off. */
const MAX_UPLOAD_FILES = 3;
const MAX_UPLOAD_FIELDS = 4;
const MAX_UPLOAD_FIELD_BYTES = 1024;

/** Third-party plugins: zod validation and serialisation, OpenAPI and its UI, multipart uploads. */
export async function registerThirdPartyPlugins(app: FastifyInstance, config: AppConfig): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'MLP training service',
        description: 'Upload MNIST-style datasets, train multilayer perceptrons, and serve their predictions.',
        version: '1.0.0',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  if (config.ENABLE_DASHBOARDS) await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(fastifyMultipart, {
    limits: {
      fileSize: config.MAX_UPLOAD_BYTES,
      files: MAX_UPLOAD_FILES,
      fields: MAX_UPLOAD_FIELDS,
      fieldSize: MAX_UPLOAD_FIELD_BYTES,
      parts: MAX_UPLOAD_FILES + MAX_UPLOAD_FIELDS,
    },
  });
}
