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
