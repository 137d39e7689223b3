import onnxProto from 'onnx-proto';
import { LEAKY_RELU_SLOPE, loadNetwork, type HiddenActivationName, type Network, type OutputActivationName } from '../core/index.js';
import type { ModelRecord } from './model-schema.js';

const { onnx } = onnxProto;

export const EXPORT_FORMATS = ['onnx', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** ONNX IR version 8 and opset 17 are read by every onnxruntime since 1.13 and by PyTorch's and TensorFlow's importers. */
const ONNX_IR_VERSION = 8;
const ONNX_OPSET = 17;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'probabilities';
/** The batch dimension's name: any number of samples. */
const BATCH = 'N';

/** One dense layer as the JSON export writes it. */
interface JsonLayer {
  inputs: number;
  outputs: number;
  activation: string;
  /** weights[o][i]: the weight from input i to output o, as in PyTorch's nn.Linear. */
  weights: number[][];
  biases: number[];
}

/** How a model's inputs are scaled before its first layer, for whoever runs it elsewhere. */
function inputScaling(record: ModelRecord): string {
  return record.inputKind === 'bytes' ? 'divide 0..255 pixels by 255 before the first layer' : 'none: inputs are used as they are';
}

function activationNodes(name: HiddenActivationName | OutputActivationName, input: string, output: string) {
  switch (name) {
    case 'relu':
      return [onnx.NodeProto.create({ opType: 'Relu', input: [input], output: [output] })];
    case 'leaky_relu':
      return [onnx.NodeProto.create({ opType: 'LeakyRelu', input: [input], output: [output], attribute: [{ name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: LEAKY_RELU_SLOPE }] })];
    case 'sigmoid':
      return [onnx.NodeProto.create({ opType: 'Sigmoid', input: [input], output: [output] })];
    case 'tanh':
      return [onnx.NodeProto.create({ opType: 'Tanh', input: [input], output: [output] })];
    case 'softmax':
      return [onnx.NodeProto.create({ opType: 'Softmax', input: [input], output: [output], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] })];
    case 'linear':
      return [onnx.NodeProto.create({ opType: 'Identity', input: [input], output: [output] })];
  }
}

const floatTensorType = (width: number) => ({ tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: BATCH }, { dimValue: width }] } } });

/**
 * The network as an ONNX graph: per layer a Gemm (y = x Wᵀ + b, our weight layout being
 * (outputs, inputs), so transB = 1) and its activation, the last one the output head's
 * (Softmax over axis 1, Sigmoid, or Identity). Input "input" is [N, width] float32 as training
 * saw it; the model's metadata_props say how to scale raw inputs.
 */
export function toOnnx(record: ModelRecord, snapshot: Uint8Array): Uint8Array {
  const network = loadNetwork(snapshot);
  const initializer: InstanceType<typeof onnx.TensorProto>[] = [];
  const node: InstanceType<typeof onnx.NodeProto>[] = [];
  let current = ONNX_INPUT;
  network.layers.forEach((layer, l) => {
    const last = l === network.layers.length - 1;
    initializer.push(
      onnx.TensorProto.create({ name: `W${l}`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [layer.outDim, layer.inDim], rawData: float32Bytes(layer.weight) }),
      onnx.TensorProto.create({ name: `b${l}`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [layer.outDim], rawData: float32Bytes(layer.bias) }),
    );
    const z = `z${l}`;
    node.push(onnx.NodeProto.create({
      opType: 'Gemm', input: [current, `W${l}`, `b${l}`], output: [z], name: `dense${l}`,
      attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    }));
    const output = last ? ONNX_OUTPUT : `a${l}`;
    node.push(...activationNodes(last ? network.config.outputActivation : network.config.activation, z, output));
    current = output;
  });
  const graph = onnx.GraphProto.create({
    name: record.id,
    node,
    initializer,
    input: [{ name: ONNX_INPUT, type: floatTensorType(network.inputSize) }],
    output: [{ name: ONNX_OUTPUT, type: floatTensorType(network.outputSize) }],
  });
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'mlp-service',
    modelVersion: record.registered?.version ?? 1,
    docString: `MLP ${record.shape.join('-')} trained by job ${record.jobId}`,
    graph,
    metadataProps: [
      { key: 'input_scaling', value: inputScaling(record) },
      { key: 'model_id', value: record.id },
    ],
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The shapes and weights as plain JSON, for people who want to read or port them. */
export function toJson(record: ModelRecord, snapshot: Uint8Array) {
  const network: Network = loadNetwork(snapshot);
  const layers: JsonLayer[] = network.layers.map((layer, l) => ({
    inputs: layer.inDim,
    outputs: layer.outDim,
    activation: l === network.layers.length - 1 ? network.config.outputActivation : network.config.activation,
    weights: Array.from({ length: layer.outDim }, (_, o) => Array.from(layer.weight.subarray(o * layer.inDim, (o + 1) * layer.inDim))),
    biases: Array.from(layer.bias),
  }));
  return { modelId: record.id, shape: record.shape, inputScaling: inputScaling(record), loss: network.config.loss, layers };
}

function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const floats = Float32Array.from(values);
  return new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
}
