import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * A multipart/form-data body, for the OpenAPI document only: the route reads its parts as a
     * stream, so no validator may see it (a zod body schema would refuse every upload).
     */
    multipartBody?: z.ZodType;
  }
}

/** The zod provider's transform, then the multipart bodies it does not know as each route's requestBody. */
const openApiTransform: typeof jsonSchemaTransform = (input) => {
  const { multipartBody, ...schema } = input.schema ?? {};
  const transformed = jsonSchemaTransform({ ...input, schema });
  if (!multipartBody) return transformed;
  return { ...transformed, schema: { ...transformed.schema, body: z.toJSONSchema(multipartBody, { target: 'openapi-3.0', io: 'input' }) } };
};
import type { AppConfig } from '../config.js';

/**
 * Third-party plugins: zod validation and serialisation, OpenAPI and its UI. Multipart parsing is
 * registered by the upload route alone (src/api/multipart.ts): it hooks every request in its scope.
 */
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
    transform: openApiTransform,
    transformObject: jsonSchemaTransformObject,
  });
  if (!config.ENABLE_DASHBOARDS) return;
  // The API's documentation holds no data: anyone may read it.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'public' };
    });
    await docs.register(fastifySwaggerUi, { routePrefix: '/docs' });
  });
}
