# The PyTorch peer for `npm run bench:core`, printing one JSON line. Threads come from the
# environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), so the caller picks the setup.
#   train: one epoch of a relu/softmax MLP with SGD momentum, on generated data shaped like the
#          core bench's (uint8 pixels scaled by 1/255 per batch, labels i % 10).
#   predict: single-sample latency (median and p99 over `samples` calls) and batch-256 throughput.
# Usage: /usr/bin/python3 bench/torch-peer.py <train|predict> <samples> <batchSize> <shape, e.g. 784,800,10>
import json
import sys
import time

import torch

mode = sys.argv[1] if len(sys.argv) > 1 else 'train'
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
batch_size = int(sys.argv[3]) if len(sys.argv) > 3 else 64
shape = [int(size) for size in (sys.argv[4] if len(sys.argv) > 4 else '784,800,10').split(',')]
WARMUP = 3
PREDICT_BATCH = 256
PREDICT_ROUNDS = 50

torch.manual_seed(1)
layers = []
for n_in, n_out in zip(shape[:-1], shape[1:]):
    layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
model = torch.nn.Sequential(*layers[:-1])
result = {'peer': 'pytorch', 'version': torch.__version__, 'threads': torch.get_num_threads(), 'shape': shape}

if mode == 'train':
    pixels = torch.randint(0, 256, (samples, shape[0]), dtype=torch.uint8)
    labels = torch.arange(samples) % shape[-1]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(index):
        x = pixels[index].float().div_(255)
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels[index])
        loss.backward()
        optimizer.step()

    order = torch.randperm(samples)
    for i in range(WARMUP):
        step(order[i * batch_size:(i + 1) * batch_size])
    started = time.perf_counter()
    for start in range(0, samples, batch_size):
        step(order[start:start + batch_size])
    seconds = time.perf_counter() - started
    result.update({'samples': samples, 'seconds': seconds, 'samplesPerSecond': samples / seconds})
else:
    model.eval()
    with torch.no_grad():
        sample = torch.rand(1, shape[0])
        for _ in range(1000):
            model(sample)
        times = []
        for _ in range(samples):
            started = time.perf_counter_ns()
            model(sample).argmax()
            times.append((time.perf_counter_ns() - started) / 1000)
        times.sort()
        batch = torch.rand(PREDICT_BATCH, shape[0])
        model(batch)
        started = time.perf_counter()
        for _ in range(PREDICT_ROUNDS):
            model(batch).argmax(1)
        seconds = time.perf_counter() - started
    result.update({
        'medianMicroseconds': times[len(times) // 2], 'p99Microseconds': times[min(len(times) - 1, int(0.99 * len(times)))],
        'batchSamplesPerSecond': PREDICT_ROUNDS * PREDICT_BATCH / seconds,
    })
print(json.dumps(result))
