#!/usr/bin/python3
"""PyTorch peer of the omptrain benchmark: trains the same MLP on the same
data with the same batch size, thread count and optimizer, written the way a
competent PyTorch user would (tensors preloaded, no DataLoader in the loop,
torch.set_num_threads, zero_grad(set_to_none=True)).

Serve mode (used by bench/bench.c): reads one request per line on stdin,
    MODEL BATCH THREADS OPTIMIZER SECONDS    e.g. 784-100-10 64 2 adam 1.0
runs full training steps (forward, loss, backward, optimizer step) for about
SECONDS after a warm-up, and answers one line:
    SAMPLES_PER_SECOND STEPS SECONDS
The data comes once, as raw float32 features and int32 labels, from the files
named on the command line (written by bench.c), so both sides train on the
same rows.

usage: pytorch_mlp.py --serve FEATURES.f32 LABELS.i32 N DIM
"""
import sys
import time

import torch


def build(model, optimizer):
    dims = [int(d) for d in model.split("-")]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i + 2 < len(dims):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    if optimizer == "adam":  # Keras' defaults, as omptrain uses
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
    return net, opt


def run(x, y, model, batch, threads, optimizer, seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    net, opt = build(model, optimizer)
    loss_fn = torch.nn.CrossEntropyLoss()  # softmax + cross-entropy, fused
    n = x.shape[0]
    starts = list(range(0, n - batch + 1, batch))
    perm = torch.randperm(n)
    xs, ys = x[perm], y[perm]

    def step(i):
        s = starts[i % len(starts)]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xs[s:s + batch]), ys[s:s + batch])
        loss.backward()
        opt.step()

    for i in range(20):  # warm-up: allocations, thread pool, caches
        step(i)
    steps, t0 = 0, time.perf_counter()
    while True:
        for _ in range(10):
            step(steps)
            steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return batch * steps / elapsed, steps, elapsed


def main():
    if len(sys.argv) != 6 or sys.argv[1] != "--serve":
        sys.exit(__doc__)
    n, dim = int(sys.argv[4]), int(sys.argv[5])
    with open(sys.argv[2], "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(n, dim)
    with open(sys.argv[3], "rb") as f:
        y = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).long()
    print("ready", torch.__version__, flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        model, batch, threads, optimizer, seconds = parts
        sps, steps, elapsed = run(x, y, model, int(batch), int(threads), optimizer,
                                  float(seconds))
        print(f"{sps:.1f} {steps} {elapsed:.4f}", flush=True)


if __name__ == "__main__":
    main()
