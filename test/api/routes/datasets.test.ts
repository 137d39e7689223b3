import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { datasetBlobKey } from '../../../src/data/dataset-service.js';
import { loadMnistDigits, toIdx } from '../../helpers/mnist.js';
import { multipartBody, type TestPart } from '../../helpers/multipart.js';
import { startTestApp } from '../../helpers/service.js';

const DIGITS = 300;
/** Small limits so the over-limit cases cost little: 2 MB uploads, 4 MB decompressed. */
const LIMITS = { MAX_UPLOAD_BYTES: '2000000', MAX_DECOMPRESSED_BYTES: '4000000' };

describe('datasets routes', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  const digits = loadMnistDigits(DIGITS, 11);
  const idx = toIdx(digits.pixels, digits.labels, DIGITS);

  const upload = async (parts: TestPart[]) => {
    const { payload, headers } = await multipartBody(parts);
    return service.app.inject({ method: 'POST', url: '/datasets', payload, headers });
  };
  const idxParts = (images: Uint8Array, labels: Uint8Array): TestPart[] => [
    { field: 'images', file: images, filename: 'train-images-idx3-ubyte' },
    { field: 'labels', file: labels, filename: 'train-labels-idx1-ubyte' },
  ];
  const storedFiles = async (): Promise<string[]> => {
    const entries = await readdir(service.config.DATA_DIR, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  };

  before(async () => {
    service = await startTestApp(LIMITS);
  });
  after(() => service.close());

  describe('good uploads', () => {
    let idxId = '';

    test('an IDX pair gives 201 with the metadata and a Location', async () => {
      const response = await upload([...idxParts(idx.images, idx.labels), { field: 'name', value: 'mnist-300' }]);
      assert.equal(response.statusCode, 201);
      const dataset = response.json();
      idxId = dataset.id;
      assert.match(dataset.id, /^ds_[0-9a-f]{20}$/);
      assert.equal(response.headers.location, `/datasets/${dataset.id}`);
      const expectedCounts = new Array(10).fill(0);
      for (const label of digits.labels) expectedCounts[label]++;
      assert.deepEqual(
        { ...dataset, id: undefined, sha256: undefined, createdAt: undefined },
        {
          name: 'mnist-300', format: 'idx', count: DIGITS, inputSize: 784, width: 28, height: 28, inputKind: 'bytes',
          numClasses: 10, classCounts: expectedCounts, targetSize: null, targetRange: null, warnings: [], bytes: 32 + DIGITS * 784 + DIGITS,
          id: undefined, sha256: undefined, createdAt: undefined,
        },
      );
      assert.match(dataset.sha256, /^[0-9a-f]{64}$/);
    });

    test('the same pair again, gzipped, answers 200 with the existing dataset', async () => {
      const response = await upload(idxParts(gzipSync(idx.images), gzipSync(idx.labels)));
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().id, idxId);
    });

    test('the same content again restores a stored file lost with an old data dir, so jobs can still read it', async () => {
      await service.services.blobs.delete(datasetBlobKey(idxId));
      const response = await upload(idxParts(idx.images, idx.labels));
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().id, idxId);
      const sample = await service.app.inject({ method: 'GET', url: `/datasets/${idxId}/samples/0` });
      assert.equal(sample.statusCode, 200);
      assert.equal(sample.json().label, digits.labels[0]);
    });

    test('the same digits as a CSV are the same content, so also 200', async () => {
      const rows = Array.from({ length: DIGITS }, (_, i) => [digits.labels[i], ...digits.pixels.subarray(i * 784, (i + 1) * 784)].join(','));
      const csv = ['label', ...Array.from({ length: 784 }, (_, i) => `px${i}`)].join(',') + '\n' + rows.join('\n');
      const response = await upload([{ field: 'file', file: csv, filename: 'mnist_train.csv' }]);
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().id, idxId);
    });

    test('a gzipped CSV of other digits is a new dataset named after the file', async () => {
      const rows = Array.from({ length: 20 }, (_, i) => [digits.labels[i], ...digits.pixels.subarray(i * 784, (i + 1) * 784).map((v) => 255 - v)].join(','));
      const response = await upload([{ field: 'file', file: gzipSync(rows.join('\n')), filename: 'inverted.csv.gz' }]);
      assert.equal(response.statusCode, 201);
      assert.equal(response.json().format, 'csv');
      assert.equal(response.json().name, 'inverted.csv.gz');
      assert.equal(response.json().count, 20);
    });

    test('JSON XOR sets with labels or targets', async () => {
      const inputs = [[0, 0], [0, 1], [1, 0], [1, 1]];
      const labelled = await upload([{ field: 'file', file: JSON.stringify({ inputs, labels: [0, 1, 1, 0] }), filename: 'xor.json' }]);
      assert.equal(labelled.statusCode, 201);
      assert.deepEqual(
        [labelled.json().format, labelled.json().inputKind, labelled.json().numClasses, labelled.json().classCounts],
        ['json', 'floats', 2, [2, 2]],
      );
      const regression = await upload([{ field: 'file', file: JSON.stringify({ inputs, targets: [[0], [1], [1], [0]] }) }]);
      assert.equal(regression.statusCode, 201);
      assert.deepEqual([regression.json().numClasses, regression.json().targetSize], [null, 1]);
    });

    test('GET lists, reads one, and reads samples', async () => {
      const list = await service.app.inject({ method: 'GET', url: '/datasets' });
      assert.equal(list.json().datasets.length, 4);
      assert.equal(list.json().datasets.at(-1).id, idxId);

      const one = await service.app.inject({ method: 'GET', url: `/datasets/${idxId}` });
      assert.equal(one.json().name, 'mnist-300');

      const sample = await service.app.inject({ method: 'GET', url: `/datasets/${idxId}/samples/123` });
      assert.equal(sample.statusCode, 200);
      assert.equal(sample.json().label, digits.labels[123]);
      assert.deepEqual(sample.json().pixels, Array.from(digits.pixels.subarray(123 * 784, 124 * 784)));

      const past = await service.app.inject({ method: 'GET', url: `/datasets/${idxId}/samples/${DIGITS}` });
      assert.equal(past.statusCode, 404);
      assert.match(past.json().error.message, /has 300 samples \(indexes 0..299\)/);
    });

    test('a dataset with an empty or rare class says so, and a job whose hold-out would miss a class notes it', async () => {
      const inputs = Array.from({ length: 62 }, (_, i) => [i % 7, i % 3]);
      const labels = [...new Array<number>(60).fill(0), 1, 1];
      const uneven = await upload([
        { field: 'file', file: JSON.stringify({ inputs, labels }), filename: 'uneven.json' },
        { field: 'numClasses', value: '3' },
      ]);
      assert.equal(uneven.statusCode, 201, uneven.body);
      assert.deepEqual(uneven.json().warnings, [
        'class 2 has no samples: a model cannot learn it',
        'the classes are unbalanced: class 0 has 60 samples and class 1 only 2 (30x); accuracy flatters a model that neglects the rare classes, so read the per-class recall of POST /models/:id/evaluate',
      ]);
      const job = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: uneven.json().id, shape: [2, 4, 3], validationSplit: 0.1 } });
      assert.equal(job.statusCode, 202, job.body);
      const note = job.json().notes.find((candidate: { code: string }) => candidate.code === 'CLASSES_MISSING_FROM_VALIDATION');
      assert.match(note?.message ?? '', /^class 1 is too rare to hold any sample out at validationSplit 0\.1, so validation says nothing about it/);
      await service.app.inject({ method: 'DELETE', url: `/jobs/${job.json().id}` });
      assert.deepEqual((await upload([{ field: 'file', file: JSON.stringify({ inputs: [[0], [1]], labels: [0, 1] }), filename: 'even.json' }])).json().warnings, []);
    });

    test('unknown and malformed ids', async () => {
      const unknown = await service.app.inject({ method: 'GET', url: `/datasets/ds_${'0'.repeat(20)}` });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().error.code, 'DATASET_NOT_FOUND');
      const malformed = await service.app.inject({ method: 'GET', url: '/datasets/..%2F..%2Fetc' });
      assert.equal(malformed.statusCode, 400);
      assert.match(malformed.json().error.message, /params\.id: must be a dataset id/);
    });

    test('DELETE gives 409 while a job holds the dataset, then 204 and the file is gone', async () => {
      const jobId = `job_${'1'.repeat(20)}`;
      await service.services.datasetStore.hold(idxId, jobId);
      const held = await service.app.inject({ method: 'DELETE', url: `/datasets/${idxId}` });
      assert.equal(held.statusCode, 409);
      assert.equal(held.json().error.code, 'DATASET_IN_USE');

      await service.services.datasetStore.release(idxId, jobId);
      const deleted = await service.app.inject({ method: 'DELETE', url: `/datasets/${idxId}` });
      assert.equal(deleted.statusCode, 204);
      assert.equal((await service.app.inject({ method: 'GET', url: `/datasets/${idxId}` })).statusCode, 404);
      assert.ok(!(await storedFiles()).includes(`${idxId}.mlpd`));
    });
  });
  describe('bad uploads leave nothing behind', () => {
    const labelsWith = (index: number, label: number): Buffer => {
      const copy = Buffer.from(idx.labels);
      copy[8 + index] = label;
      return copy;
    };
    const csvRows = (...rows: string[]): TestPart[] => [{ field: 'file', file: rows.join('\n'), filename: 'bad.csv' }];
    const cases: { name: string; parts: () => TestPart[]; status: number; code: string; message: RegExp }[] = [
      {
        name: 'wrong magic (the parts swapped)',
        parts: () => idxParts(idx.labels, idx.images),
        status: 400, code: 'IDX_BAD_MAGIC', message: /images: the magic number is 2049.*swapped/,
      },
      {
        name: 'a truncated images file',
        parts: () => idxParts(idx.images.subarray(0, idx.images.length - 100), idx.labels),
        status: 400, code: 'IDX_TRUNCATED', message: /images: the file is truncated/,
      },
      {
        name: 'a count mismatch',
        parts: () => idxParts(idx.images, toIdx(digits.pixels, digits.labels, DIGITS - 1).labels),
        status: 400, code: 'COUNT_MISMATCH', message: /holds 300 images but the labels file holds 299 labels/,
      },
      {
        name: 'a label at or above numClasses',
        parts: () => [...idxParts(idx.images, labelsWith(42, 10)), { field: 'numClasses', value: '10' }],
        status: 400, code: 'LABEL_OUT_OF_RANGE', message: /sample 42 has label 10, but numClasses is 10/,
      },
      {
        name: 'a non-numeric CSV value',
        parts: () => csvRows('1,0,0,0', '2,0,abc,0'),
        status: 400, code: 'CSV_NOT_NUMERIC', message: /line 2: value 3 "abc" is not a decimal number/,
      },
      {
        name: 'a JSON array where a dataset object belongs',
        parts: () => [{ field: 'file', file: '[[0, 1], [1, 0]]', filename: 'rows.json' }],
        status: 400, code: 'INVALID_DATASET_JSON', message: /expected object, received array\. Expected \{ "inputs": number\[\]\[\], "labels": number\[\] \}/,
      },
      {
        name: 'a CSV value beyond float32 range',
        parts: () => csvRows('1,0,0,0', '2,0,1e39,0'),
        status: 400, code: 'INPUT_OUT_OF_RANGE', message: /line 2: value 3 is 1e39, beyond ±3\.4e\+38, the range of the float32 numbers the network computes with/,
      },
      {
        name: 'a CSV row with the wrong pixel count',
        parts: () => csvRows('1,0,0,0', '2,0,0'),
        status: 400, code: 'CSV_WRONG_VALUE_COUNT', message: /line 2: 3 values; expected 4/,
      },
      {
        name: 'a gzip bomb over the decompressed limit',
        parts: () => [{ field: 'file', file: gzipSync(Buffer.from('0,0\n'.repeat(12_500_000))), filename: 'bomb.csv.gz' }],
        status: 413, code: 'DECOMPRESSED_TOO_LARGE', message: /decompressed content is over the limit of 4000000 bytes/,
      },
      {
        name: 'an upload over the size limit',
        parts: () => [{ field: 'file', file: Buffer.alloc(2_500_000, 1) }],
        status: 413, code: 'UPLOAD_TOO_LARGE', message: /over the size limit/,
      },
      {
        name: 'an empty file',
        parts: () => [{ field: 'file', file: '' }],
        status: 400, code: 'EMPTY_FILE', message: /file: the file is empty/,
      },
      {
        name: 'a missing labels part',
        parts: () => [{ field: 'images', file: idx.images }],
        status: 400, code: 'MISSING_PART', message: /no "labels" part/,
      },
      {
        name: 'an unknown field',
        parts: () => [...idxParts(idx.images, idx.labels), { field: 'extra', file: 'x' }],
        status: 400, code: 'UNKNOWN_FIELD', message: /unknown file field "extra"; send files "images" \+ "labels"/,
      },
      {
        name: 'an unknown text field',
        parts: () => [...idxParts(idx.images, idx.labels), { field: 'extra', value: 'x' }],
        status: 400, code: 'UNKNOWN_FIELD', message: /unknown text field "extra"; send files/,
      },
      {
        name: 'a bad numClasses field',
        parts: () => [...idxParts(idx.images, idx.labels), { field: 'numClasses', value: 'ten' }],
        status: 400, code: 'VALIDATION_FAILED', message: /numClasses/,
      },
    ];

    beforeEach(async () => {
      const existing = (await service.app.inject({ method: 'GET', url: '/datasets' })).json().datasets as { id: string }[];
      for (const { id } of existing) await service.app.inject({ method: 'DELETE', url: `/datasets/${id}` });
    });

    for (const { name, parts, status, code, message } of cases) {
      test(`${name}: ${status} ${code}`, async () => {
        const response = await upload(parts());
        assert.equal(response.statusCode, status, response.body);
        assert.equal(response.json().error.code, code);
        assert.match(response.json().error.message, message);
        assert.deepEqual((await service.app.inject({ method: 'GET', url: '/datasets' })).json().datasets, []);
        assert.deepEqual(await storedFiles(), []);
      });
    }

    const rawUploads = [
      { name: 'a multipart body without a boundary', contentType: 'multipart/form-data', payload: 'garbage', message: /Boundary not found/ },
      {
        name: 'a multipart body cut off inside a file',
        contentType: 'multipart/form-data; boundary=cut',
        payload: '--cut\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n1,0,0,0\n2,0,0,0\n',
        message: /unexpected end of multipart data/i,
      },
    ];
    for (const { name, contentType, payload, message } of rawUploads) {
      test(`${name}: 400 MALFORMED_MULTIPART`, async () => {
        const response = await service.app.inject({ method: 'POST', url: '/datasets', payload, headers: { 'content-type': contentType } });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json().error.code, 'MALFORMED_MULTIPART');
        assert.match(response.json().error.message, message);
        assert.deepEqual(await storedFiles(), []);
      });
    }

    test('a JSON body instead of multipart is 415', async () => {
      const response = await service.app.inject({ method: 'POST', url: '/datasets', payload: { inputs: [[0]], labels: [0] } });
      assert.equal(response.statusCode, 415);
      assert.equal(response.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });
});
