import { connect } from 'node:net';

/** What came back on a raw connection: the status, lower-cased headers and the body, as text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first write until the server closed the connection. */
  elapsedMs: number;
}

export interface RawRequestOptions {
  /** Shut our side down after writing, as a client that sent everything it meant to. */
  halfClose?: boolean;
  /** Give up after this long; the answer so far is returned. */
  timeoutMs?: number;
}

/** An interim answer, such as 100 Continue, before the final one (RFC 9110, 15.2). */
const INTERIM_RESPONSE = /^HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n/;

function parseResponse(received: string, elapsedMs: number): RawResponse {
  let text = received;
  while (INTERIM_RESPONSE.test(text)) text = text.replace(INTERIM_RESPONSE, '');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  }));
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: headEnd < 0 ? '' : text.slice(headEnd + 4), elapsedMs };
}

/**
 * Writes `chunks` as they are, in order (a number waits that many milliseconds), on a fresh TCP
 * connection, and reads until the server closes it: for requests no HTTP client would send.
 */
export function rawRequest(port: number, chunks: (string | Buffer | number)[], options: RawRequestOptions = {}): Promise<RawResponse> {
  const { halfClose = false, timeoutMs = 10_000 } = options;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const started = Date.now();
    const giveUp = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve(parseResponse(Buffer.concat(received).toString('utf8'), Date.now() - started));
    });
    socket.once('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        if (typeof chunk === 'number') await new Promise((wait) => setTimeout(wait, chunk));
        else socket.write(chunk);
      }
      if (halfClose && !socket.destroyed) socket.end();
    });
  });
}
