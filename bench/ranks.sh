#!/usr/bin/env bash
# The ranks axis: the same training as 1 process x T threads and as R ranks
# x 1 thread under mpirun (loopback shared memory), with the same shard
# count, so the same weights. Prints one row per model and batch: samples/s
# of both layouts (the median of ROUNDS interleaved runs; epoch 2 of 2 over
# half of Fashion-MNIST, validation excluded), the ranks' share of their
# step in the exchange, the bytes each rank sends per step of a step cut by
# rows, and what those bytes and that time make as a bandwidth.
#
#   bench/ranks.sh BUILD_DIR [RANKS [ROUNDS [MODELS [BATCHES]]]]
#   defaults: 2 ranks, 3 rounds, 784-100-10 and 784-1024-1024-10, 64..1024
set -euo pipefail
build=${1:?usage: bench/ranks.sh BUILD_DIR [RANKS [ROUNDS [MODELS [BATCHES]]]]}
R=${2:-2}
rounds=${3:-3}
models=${4:-784-100-10 784-1024-1024-10}
batches=${5:-64 128 256 512 1024}
bin="$build/src/cli/omptrain"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "samples/s comm_seconds" of epoch 2 of a run (history CSV's last line)
last() { tail -n 1 "$1" | awk -F, '{print $7, $8}'; }

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "| model | batch | cut | 1 x $R threads, samples/s | $R ranks x 1, samples/s | ranks / threads | exchange, share of the step | exchange per step | bytes sent per rank per step | effective GB/s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for model in $models; do
    hidden=${model#*-}
    layers=$(echo "$hidden" | awk -F- '{for (i = 1; i < NF; i++) printf "%s:relu,", $i; printf "%s:softmax", $NF}')
    params=$("$bin" train --layers "$layers" --epochs 1 --batch 60000 --threads 1 --validation-split 0.99 --quiet --save "$work/p.otm" >/dev/null 2>&1;
             "$bin" summary --model "$work/p.otm" | awk '/Total params/ {gsub(",", "", $3); print $3}')
    for batch in $batches; do
        flags="train --layers $layers --batch $batch --shards $R --epochs 2 --validation-split 0.5 --quiet"
        : > "$work/t"; : > "$work/r"; : > "$work/c"
        for ((i = 0; i < rounds; i++)); do
            "$bin" $flags --threads "$R" --history "$work/h1.csv" >/dev/null
            last "$work/h1.csv" | awk '{print $1}' >> "$work/t"
            mpirun --oversubscribe --bind-to none -np "$R" "$bin" $flags --threads 1 \
                --history "$work/h2.csv" >/dev/null
            last "$work/h2.csv" | awk '{print $1}' >> "$work/r"
            last "$work/h2.csv" | awk -v b="$batch" '{print $2 / (30000 / b)}' >> "$work/c"
        done
        cut=$("$bin" train --layers "$layers" --batch "$batch" --shards "$R" --threads 1 --epochs 1 \
              --validation-split 0.99 | sed -n 's/.*steps cut by \([a-z]*\).*/\1/p')
        t=$(median < "$work/t"); r=$(median < "$work/r")
        awk -v m="$model" -v b="$batch" -v cut="$cut" -v t="$t" -v r="$r" -v R="$R" \
            -v P="$params" -v c="$(median < "$work/c")" 'BEGIN {
            step = b / r;                         # seconds per step on the ranks
            share = c / step;                     # c: exchange seconds per step and rank
            bytes = cut == "rows" ? 4 * P * (R - 1) / R * 2 : 0   # one shard a rank: its gradient out, the weights in
            # cut by units: each layer'"'"'s outputs and input-gradient parts (BENCHMARKS.md)
            printf "| %s | %d | %s | %.0f | %.0f | %.2f | %.0f%% | %.3f ms | %s | %s |\n", m, b, cut, t, r,
                   r / t, 100 * share, 1e3 * c, bytes ? sprintf("%.2f MB", bytes / 1e6) : "activations",
                   bytes ? sprintf("%.1f", bytes / c / 1e9) : "-"
        }'
    done
done
