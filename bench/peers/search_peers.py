#!/usr/bin/python3
"""The peers of bench --search-check: the textbook's grid search (epochs x
batch sizes, k-fold cross-validation, then a refit of the best on all the
data) done the ways a Python user would.

    search_peers.py sklearn FEATURES.f32 LABELS.i32 N DIM HIDDEN CV JOBS EPOCHS BATCHES
    search_peers.py pytorch FEATURES.f32 LABELS.i32 N DIM HIDDEN CV JOBS EPOCHS BATCHES

EPOCHS and BATCHES are comma lists, HIDDEN the hidden layers' widths
("100" or "1024-1024"). sklearn: GridSearchCV(MLPClassifier(hidden, adam),
{'max_iter': EPOCHS, 'batch_size': BATCHES}, cv=CV, n_jobs=JOBS), which
refits the best. pytorch: the same folds (StratifiedKFold(CV)), every
candidate and fold trained from scratch as GridSearchCV does, in a pool of
JOBS processes of one thread each, Keras' initialisation and Adam defaults,
a reshuffle every epoch; then the best refit on all the rows. Both print
one line:
    SECONDS BEST_SCORE batch=B epochs=E
SECONDS from the data in memory to the refit done (the interpreter's start,
the imports and reading the files are not counted).
"""
import os
import sys
import time
import warnings

import numpy as np

x = y = None  # the data, shared with the pool's forked workers


def build(dims):
    import torch
    layers = []
    for i in range(len(dims) - 1):
        lin = torch.nn.Linear(dims[i], dims[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)  # as Keras' Dense
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 2 < len(dims):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_fit(task):
    import torch
    torch.set_num_threads(1)
    dims, batch, epochs, train, test, seed = task
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train]).long()
    net = build(dims)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(train)
    for _ in range(epochs):
        perm = torch.randperm(n)
        xs, ys = xt[perm], yt[perm]
        for s in range(0, n, batch):
            opt.zero_grad(set_to_none=True)
            loss_fn(net(xs[s:s + batch]), ys[s:s + batch]).backward()
            opt.step()
    if test is None:
        return 0.0
    with torch.no_grad():
        pred = net(torch.from_numpy(x[test])).argmax(dim=1).numpy()
    return float((pred == y[test]).mean())


def main():
    global x, y
    kind, xf, yf = sys.argv[1:4]
    n, dim = int(sys.argv[4]), int(sys.argv[5])
    hidden = [int(h) for h in sys.argv[6].split("-")]
    cv, jobs = int(sys.argv[7]), int(sys.argv[8])
    epochs = [int(e) for e in sys.argv[9].split(",")]
    batches = [int(b) for b in sys.argv[10].split(",")]
    x = np.fromfile(xf, dtype=np.float32).reshape(n, dim)
    y = np.fromfile(yf, dtype=np.int32)
    classes = int(y.max()) + 1
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    if kind == "sklearn":
        from sklearn.neural_network import MLPClassifier
        # max_iter 1, 2, 3 do not converge, as meant: no warnings, here or in the workers
        warnings.filterwarnings("ignore")
        os.environ["PYTHONWARNINGS"] = "ignore"
        t0 = time.perf_counter()
        gs = GridSearchCV(MLPClassifier(hidden_layer_sizes=tuple(hidden), solver="adam",
                                        random_state=42),
                          {"max_iter": epochs, "batch_size": batches}, cv=cv, n_jobs=jobs)
        gs.fit(x, y)
        seconds = time.perf_counter() - t0
        best, p = gs.best_score_, gs.best_params_
        print(f"{seconds:.3f} {best:.6f} batch={p['batch_size']} epochs={p['max_iter']}")
        return
    import multiprocessing as mp
    import torch
    torch.set_num_threads(1)
    dims = [dim] + hidden + [classes]
    t0 = time.perf_counter()
    folds = list(StratifiedKFold(cv).split(np.zeros(n), y))
    grid = [(b, e) for b in batches for e in epochs]
    tasks = [(dims, b, e, tr, te, 42) for b, e in grid for tr, te in folds]
    with mp.get_context("fork").Pool(jobs) as pool:
        scores = pool.map(torch_fit, tasks, chunksize=1)
    means = [np.mean(scores[i * cv:(i + 1) * cv]) for i in range(len(grid))]
    i = int(np.argmax(means))
    torch_fit((dims, grid[i][0], grid[i][1], np.arange(n), None, 42))  # the refit
    seconds = time.perf_counter() - t0
    print(f"{seconds:.3f} {means[i]:.6f} batch={grid[i][0]} epochs={grid[i][1]}")


if __name__ == "__main__":
    main()
