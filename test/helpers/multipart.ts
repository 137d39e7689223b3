/** A part of a multipart test upload: a file (bytes and a file name) or a text field. */
export type TestPart = { field: string; file: Uint8Array | string; filename?: string } | { field: string; value: string };

/** Encodes parts as a real multipart/form-data body, as a browser or curl would send it. */
export async function multipartBody(parts: TestPart[]): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const part of parts) {
    if ('value' in part) form.append(part.field, part.value);
    else form.append(part.field, new Blob([part.file]), part.filename ?? `${part.field}.bin`);
  }
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return {
    payload: Buffer.from(await request.arrayBuffer()),
    headers: { 'content-type': request.headers.get('content-type') ?? '' },
  };
}

const RAW_BOUNDARY = 'hostile-boundary';

/** A multipart body written byte for byte, so a file name or field can hold what FormData would escape. */
export function rawMultipartBody(parts: { name: string; filename?: string; content: string | Buffer }[]): { payload: Buffer; headers: Record<string, string> } {
  const pieces = parts.flatMap(({ name, filename, content }) => [
    Buffer.from(`--${RAW_BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}\r\n\r\n`, 'utf8'),
    Buffer.isBuffer(content) ? content : Buffer.from(content),
    Buffer.from('\r\n'),
  ]);
  return { payload: Buffer.concat([...pieces, Buffer.from(`--${RAW_BOUNDARY}--\r\n`)]), headers: { 'content-type': `multipart/form-data; boundary=${RAW_BOUNDARY}` } };
}
