import { InvalidConfigError, parameterCount } from '../core/index.js';
import { AppError } from '../errors.js';

// What POST /jobs and POST /gradcheck check alike about the network a request describes.

/** TOO_MANY_PARAMETERS naming body.shape, before anything of that size is allocated. */
export function checkParameterLimit(shape: readonly number[], limit: number): void {
  const parameters = parameterCount(shape);
  if (parameters > limit) {
    throw new AppError(
      'TOO_MANY_PARAMETERS',
      `body.shape: [${shape.join(', ')}] has ${parameters} parameters; the limit is ${limit}`,
      { field: 'shape', parameters, limit },
    );
  }
}

/** The core's InvalidConfigError as the 400 INVALID_CONFIG naming the body field; any other error as it is. */
export function asRequestError(error: unknown): unknown {
  if (!(error instanceof InvalidConfigError)) return error;
  return new AppError('INVALID_CONFIG', `body.${error.field}: ${error.message}`, { field: error.field });
}
