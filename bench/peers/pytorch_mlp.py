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
Time-to-accuracy requests (bench --time-to-accuracy):
    tta MODEL BATCH THREADS SEED TARGET MAX_EPOCHS N_TRAIN
train on rows [0, N_TRAIN) with Keras' initialisation (Glorot uniform
kernels, zero biases), Adam with Keras' defaults and a reshuffle every epoch;
after each epoch measure the accuracy on the remaining rows; answer
    EPOCHS SECONDS VAL_ACCURACY
at the first epoch that reaches TARGET (EPOCHS -1 and the last accuracy when
none does), SECONDS from the start of training, validation included.
GEMM requests, once per thread count at the start of a grid:
    gemm THREADS
answer the GFLOP/s of torch.mm on 2048 x 2048 floats with THREADS threads.
The ready line names torch's version and its BLAS (OpenBLAS's version and
the kernels it chose for this processor).
The data comes once, as raw float32 features and int32 labels, from the files
named on the command line (written by bench.c), so both sides train on the
same rows.

usage: pytorch_mlp.py --serve FEATURES.f32 LABELS.i32 N DIM
"""
import ctypes
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


def time_to_accuracy(x, y, model, batch, threads, seed, target, max_epochs, n_train):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    net, opt = build(model, "adam")
    for layer in net:
        if isinstance(layer, torch.nn.Linear):  # as Keras' Dense
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    accuracy = float("nan")
    for epoch in range(1, max_epochs + 1):
        perm = torch.randperm(n_train)
        xs, ys = xt[perm], yt[perm]  # one gather per epoch, then slices
        net.train()
        for s in range(0, n_train, batch):  # the last batch may be short, as in Keras
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xs[s:s + batch]), ys[s:s + batch])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            accuracy = (net(xv).argmax(dim=1) == yv).float().mean().item()
        if accuracy >= target:
            return epoch, time.perf_counter() - t0, accuracy
    return -1, time.perf_counter() - t0, accuracy


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


def blas():
    """The BLAS torch runs on, as one word: OpenBLAS's version and the
    kernels it chose for this processor (its DYNAMIC_ARCH), else "unknown"."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({l.split()[-1] for l in f if "openblas" in l and ".so" in l})
        for path in libs:
            lib = ctypes.CDLL(path)
            core, config = lib.openblas_get_corename, lib.openblas_get_config
            core.restype = config.restype = ctypes.c_char_p
            version = config().decode().split()[1]
            return f"OpenBLAS-{version}-{core().decode()}"
    except (OSError, AttributeError, IndexError, UnicodeDecodeError):
        pass
    return "unknown"


def gemm(threads):
    """GFLOP/s of torch.mm on two 2048 x 2048 float matrices with `threads`
    threads: the median of 5 after one untimed, as the benchmark times
    oneDNN's sgemm."""
    torch.set_num_threads(threads)
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    torch.mm(a, b)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * 2048 ** 3 / sorted(times)[2] / 1e9


def main():
    if len(sys.argv) != 6 or sys.argv[1] != "--serve":
        sys.exit(__doc__)
    n, dim = int(sys.argv[4]), int(sys.argv[5])
    with open(sys.argv[2], "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(n, dim)
    with open(sys.argv[3], "rb") as f:
        y = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).long()
    print("ready", torch.__version__, blas(), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "gemm":
            print(f"{gemm(int(parts[1])):.2f}", flush=True)
            continue
        if parts[0] == "tta":
            model, batch, threads, seed, target, max_epochs, n_train = parts[1:]
            epochs, elapsed, acc = time_to_accuracy(x, y, model, int(batch), int(threads),
                                                    int(seed), float(target),
                                                    int(max_epochs), int(n_train))
            print(f"{epochs} {elapsed:.4f} {acc:.4f}", flush=True)
            continue
        model, batch, threads, optimizer, seconds = parts
        sps, steps, elapsed = run(x, y, model, int(batch), int(threads), optimizer,
                                  float(seconds))
        print(f"{sps:.1f} {steps} {elapsed:.4f}", flush=True)


if __name__ == "__main__":
    main()
