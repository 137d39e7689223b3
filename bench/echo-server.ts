import Fastify from 'fastify';

/** The framework's ceiling for bench:api: a bare Fastify route that parses a JSON body and echoes it. */
const app = Fastify();
app.post('/echo', async (request) => request.body);
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
