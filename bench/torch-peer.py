# The PyTorch peer for `npm run bench:core`: one epoch of 784-800-10 relu/softmax with SGD
# momentum, batch 64, on generated data shaped like the core bench's (uint8 pixels scaled by
# 1/255 per batch, labels i % 10), and prints one JSON line. Threads come from the
# environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), so the caller picks the setup.
# Usage: /usr/bin/python3 bench/torch-peer.py <samples> <batchSize>
import json
import sys
import time

import torch

samples = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else 64
WARMUP_BATCHES = 3

torch.manual_seed(1)
pixels = torch.randint(0, 256, (samples, 784), dtype=torch.uint8)
labels = torch.arange(samples) % 10
model = torch.nn.Sequential(torch.nn.Linear(784, 800), torch.nn.ReLU(), torch.nn.Linear(800, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()


def step(index):
    x = pixels[index].float().div_(255)
    optimizer.zero_grad()
    loss = loss_fn(model(x), labels[index])
    loss.backward()
    optimizer.step()


order = torch.randperm(samples)
for i in range(WARMUP_BATCHES):
    step(order[i * batch_size:(i + 1) * batch_size])
started = time.perf_counter()
for start in range(0, samples, batch_size):
    step(order[start:start + batch_size])
seconds = time.perf_counter() - started
print(json.dumps({
    'peer': 'pytorch', 'version': torch.__version__, 'threads': torch.get_num_threads(),
    'samples': samples, 'seconds': seconds, 'samplesPerSecond': samples / seconds,
}))
