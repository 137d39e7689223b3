# The OpenBLAS peer for `npm run bench:core`: the three products of a dense layer as numpy
# float32 matrix products, which Debian's numpy runs on OpenBLAS sgemm. Prints one JSON line of
# GFLOP/s per product: the best of TRIALS, as bench/core.ts takes ours, so a VM's pause in one
# trial costs neither side. Threads come from OPENBLAS_NUM_THREADS.
# Usage: /usr/bin/python3 bench/numpy-peer.py <batch> <inDim> <outDim>
import json
import sys
import time

import numpy

batch, in_dim, out_dim = (int(size) for size in sys.argv[1:4])
TRIALS = 5
TRIAL_SECONDS = 0.1
rng = numpy.random.default_rng(1)
inp = rng.random((batch, in_dim), dtype=numpy.float32)
weight = rng.random((out_dim, in_dim), dtype=numpy.float32)
d_out = rng.random((batch, out_dim), dtype=numpy.float32)
products = {
    # out = inp · weightᵀ, dInp = dOut · weight, dWeight = dOutᵀ · inp
    'forward': lambda: inp @ weight.T,
    'backwardInput': lambda: d_out @ weight,
    'backwardWeight': lambda: d_out.T @ inp,
}
flop = 2 * batch * in_dim * out_dim
result = {'peer': 'numpy', 'version': numpy.__version__}
for name, product in products.items():
    product()
    best = 0.0
    for _ in range(TRIALS):
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < TRIAL_SECONDS:
            product()
            calls += 1
        best = max(best, calls * flop / (time.perf_counter() - started) / 1e9)
    result[name] = best
print(json.dumps(result))
