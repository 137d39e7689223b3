/**
 * The one catalogue of error codes the service answers with. Each code has its HTTP
 * status and a default message; a thrown AppError may give a more precise message.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, message: 'The request does not match the schema' },
  INVALID_JSON: { status: 400, message: 'The body is not valid JSON' },
  INVALID_URL: { status: 400, message: 'The URL has a malformed percent-encoding' },
  MALFORMED_REQUEST: { status: 400, message: 'The request is not well-formed HTTP/1.1' },
  CORRUPT_BODY_ENCODING: { status: 400, message: 'The body could not be decoded as its Content-Encoding says' },
  UNKNOWN_FIELD: { status: 400, message: 'The upload has a field this endpoint does not accept' },
  DUPLICATE_FIELD: { status: 400, message: 'The upload sends the same field twice' },
  MISSING_PART: { status: 400, message: 'The upload is missing a part' },
  MALFORMED_MULTIPART: { status: 400, message: 'The body is not well-formed multipart/form-data' },
  EMPTY_FILE: { status: 400, message: 'An uploaded file is empty' },
  CORRUPT_GZIP: { status: 400, message: 'A gzip file could not be decompressed' },
  IDX_BAD_MAGIC: { status: 400, message: 'An IDX file has the wrong magic number' },
  IDX_BAD_DIMENSIONS: { status: 400, message: 'An IDX file declares impossible dimensions' },
  IDX_TRUNCATED: { status: 400, message: 'An IDX file is shorter than its header declares' },
  IDX_TRAILING_BYTES: { status: 400, message: 'An IDX file is longer than its header declares' },
  COUNT_MISMATCH: { status: 400, message: 'The images and labels have different counts' },
  LABEL_OUT_OF_RANGE: { status: 400, message: 'A label is outside the class range' },
  CSV_NOT_NUMERIC: { status: 400, message: 'A CSV value is not a number' },
  CSV_WRONG_VALUE_COUNT: { status: 400, message: 'A CSV row has the wrong number of values' },
  CSV_MALFORMED: { status: 400, message: 'The CSV is not well formed (a quote is not closed, or a field is cut)' },
  JSON_TOO_DEEP: { status: 400, message: 'The JSON nests deeper than allowed' },
  PIXEL_OUT_OF_RANGE: { status: 400, message: 'A pixel value is out of range' },
  INVALID_DATASET_JSON: { status: 400, message: 'The JSON dataset has the wrong shape' },
  INVALID_CONFIG: { status: 400, message: 'The training configuration is invalid' },
  SHAPE_MISMATCH: { status: 400, message: 'The network shape does not fit the dataset' },
  TOO_MANY_PARAMETERS: { status: 400, message: 'The network has more parameters than allowed' },
  UNKNOWN_DATASET: { status: 400, message: 'The body names a dataset that does not exist' },
  UNKNOWN_MODEL: { status: 400, message: 'The body names a model that does not exist' },
  NO_VALIDATION_DATA: { status: 400, message: "The model's job held out no validation data" },
  INPUT_SIZE_MISMATCH: { status: 400, message: 'The input has the wrong number of values' },
  INPUT_OUT_OF_RANGE: { status: 400, message: 'An input value is out of range' },
  UNAUTHORIZED: { status: 401, message: 'A valid API key is required: send Authorization: Bearer <key> (or X-Api-Key: <key>)' },
  FORBIDDEN: { status: 403, message: 'This API key does not have the scope this route needs' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No route matches this method and path' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This path does not accept this method' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  DATASET_NOT_FOUND: { status: 404, message: 'No dataset has this id' },
  SAMPLE_NOT_FOUND: { status: 404, message: 'The dataset has no sample at this index' },
  JOB_NOT_FOUND: { status: 404, message: 'No job has this id' },
  MODEL_NOT_FOUND: { status: 404, message: 'No model has this id' },
  SWEEP_NOT_FOUND: { status: 404, message: 'No sweep has this id' },
  DATASET_IN_USE: { status: 409, message: 'A queued or running job, or a model, uses this dataset' },
  MODEL_IN_USE: { status: 409, message: 'An alias points at this model' },
  JOB_FINISHED: { status: 409, message: 'The job has already finished' },
  JOB_NOT_RUNNING: { status: 409, message: 'The job is not running' },
  JOB_NOT_RESUMABLE: { status: 409, message: 'The job cannot be resumed' },
  NO_CHECKPOINT: { status: 409, message: 'The job has no checkpoint to resume from' },
  SWEEP_FINISHED: { status: 409, message: 'The sweep has already finished' },
  EVALUATION_FAILED: { status: 422, message: 'The evaluation could not read its model or dataset' },
  PREDICTION_OVERFLOWED: { status: 422, message: "The model's outputs overflowed for these inputs" },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'This Idempotency-Key was used with a different body' },
  UPLOAD_TOO_LARGE: { status: 413, message: 'The upload is over the size limit' },
  DECOMPRESSED_TOO_LARGE: { status: 413, message: 'The decompressed upload is over the size limit' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is over the size limit' },
  ROW_TOO_WIDE: { status: 413, message: 'A sample has more values than allowed' },
  LINE_TOO_LONG: { status: 413, message: 'A line of the file is longer than allowed' },
  TOO_MANY_ROWS: { status: 413, message: 'The dataset has more samples than allowed' },
  UPLOAD_MEMORY_LIMIT: { status: 413, message: 'The upload needs more memory than one request may use' },
  URL_TOO_LONG: { status: 414, message: 'The URL is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'This endpoint does not accept this content type' },
  UNSUPPORTED_CONTENT_ENCODING: { status: 415, message: 'This endpoint does not accept this Content-Encoding' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  INTERNAL: { status: 500, message: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'A backing service (Redis or storage) is unavailable' },
  QUEUE_UNAVAILABLE: { status: 503, message: 'The job could not be queued' },
  EVALUATION_BUSY: { status: 503, message: 'Every evaluation thread is busy and the queue is full' },
  SERVER_BUSY: { status: 503, message: 'The service is at capacity; retry after the time in Retry-After' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error the client can act on. Only codes from the catalogue exist. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CATALOGUE[code].message,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.status = ERROR_CATALOGUE[code].status;
  }
}
