#!/usr/bin/env bash
# The textbook's Fashion-MNIST runs (784-100-10, batch 32, 5 epochs, 20%
# validation, seed 42, 2 shards so that the weights do not depend on the
# thread count --threads auto picks), one line of a Markdown table each:
# validation accuracy after the last epoch and seconds for all epochs.
# usage: bench/textbook.sh [BUILD_DIR] [extra train flags...]
set -euo pipefail
build=${1:-build}
shift || true
bin="$build/src/cli/omptrain"
hist=$(mktemp)
trap 'rm -f "$hist"' EXIT

run() {
    local name=$1
    shift
    "$bin" train --quiet --shards 2 --history "$hist" "$@"
    awk -F, -v name="$name" -v cmd="omptrain train --shards 2 $*" '
        NR > 1 { acc = $5; secs += $6; n = $1 }
        END { printf "| %s | %.4f | %.1f | `%s` |\n", name, acc, secs, cmd }' "$hist"
}

echo "| run | val_accuracy | seconds | command |"
echo "| --- | --- | --- | --- |"
run "relu, adam" --layers 100:relu,10:softmax --optimizer adam "$@"
run "sigmoid, adam" --layers 100:sigmoid,10:softmax --optimizer adam "$@"
run "relu, rmsprop" --layers 100:relu,10:softmax --optimizer rmsprop "$@"
run "relu, sgd" --layers 100:relu,10:softmax --optimizer sgd "$@"
run "relu, sgd momentum 0.9" --layers 100:relu,10:softmax --optimizer sgd --momentum 0.9 "$@"
run "relu, sgd Nesterov 0.9" --layers 100:relu,10:softmax --optimizer sgd --momentum 0.9 --nesterov "$@"
run "relu, adagrad" --layers 100:relu,10:softmax --optimizer adagrad "$@"
run "relu, adadelta" --layers 100:relu,10:softmax --optimizer adadelta "$@"
run "relu, adam amsgrad" --layers 100:relu,10:softmax --optimizer adam --amsgrad "$@"
