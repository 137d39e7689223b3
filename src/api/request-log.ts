import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** Query parameters whose values are never logged: a client may put a key in the URL, though none is read from there. */
const SECRET_PARAMETER = /^(api[-_]?key|key|token|access[-_]?token|secret|password|auth(orization)?)$/i;
const REDACTED = '[redacted]';

/** The URL as logged: the path, and the query with secret-looking values replaced. */
export function loggableUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const query = url.slice(queryStart + 1).split('&').map((pair) => {
    const equals = pair.indexOf('=');
    return equals >= 0 && SECRET_PARAMETER.test(pair.slice(0, equals)) ? `${pair.slice(0, equals)}=${REDACTED}` : pair;
  });
  return `${url.slice(0, queryStart)}?${query.join('&')}`;
}

/** Fastify's own request serializer (no headers, so no Authorization or cookie), with loggableUrl. */
export const logSerializers = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: loggableUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }),
};

/**
 * Fastify logs two lines per request at `info`: "incoming request", then "request completed". At
 * the default level those two writes cost more than a prediction's own handling, so this logs one,
 * when the request is answered, carrying the request's method and URL along with the status.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
