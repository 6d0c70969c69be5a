#!/usr/bin/env bash
# Writes the fuzzers' seed corpus (tests/fuzz/corpus/*) from scratch: small
# valid and broken IDX pairs, CSV files, and model files saved by a built
# omptrain. usage: tests/fuzz/make_corpus.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$(cd "${1:-build}" && pwd)/src/cli/omptrain"
out="$here/corpus"
rm -rf "$out" && mkdir -p "$out/idx" "$out/csv" "$out/checkpoint"

python3 - "$out" <<'PY'
import gzip, struct, sys
out = sys.argv[1]
def images(n, r, c, magic=0x803):
    return struct.pack('>IIII', magic, n, r, c) + bytes((i * 7) % 256 for i in range(n * r * c))
def labels(n, magic=0x801):
    return struct.pack('>II', magic, n) + bytes(i % 10 for i in range(n))
def pair(name, img, lab):
    open(f'{out}/idx/{name}', 'wb').write(struct.pack('<I', len(img)) + img + lab)
pair('raw', images(2, 3, 3), labels(2))
pair('gzip-images', gzip.compress(images(3, 2, 2), mtime=0), labels(3))
pair('gzip-both', gzip.compress(images(2, 4, 1), mtime=0), gzip.compress(labels(2), mtime=0))
pair('labels-as-images', labels(2), labels(2))
pair('truncated', images(4, 3, 3)[:30], labels(4))
# a header declaring far more than its small gzip stream holds (a bomb's shape)
pair('gzip-bomb-header', gzip.compress(struct.pack('>IIII', 0x803, 60000000, 28, 28) +
                                       bytes(4096), mtime=0), labels(2))
csv = {
    'header-label-last': (0, b'a,b,label\n1.5,2,0\n-3,4e-1,2\n'),
    'no-header': (1, b'1,2,0\n3,4,1\n'),
    'float-targets': (0b00010000, b'x,t\n0.5,1.25\n2,-3\n'),
    'crlf-quotes': (0, b'"a","b","c"\r\n1,2,"1"\r\n\r\n3,4,0\r\n'),
    'features-only': (0b01000000, b'1,2,3\n4,5,6\n'),
    'ragged': (0, b'1,2,0\n3,4\n'),
    'beyond-float': (0, b'a,b,label\n1e39,2,0\n3.5e38,4,1\n'),
    'header-typo': (0, b'1,2x,0\n3,4,1\n'),
    'bom-no-header': (0, b'\xef\xbb\xbf1,2,0\n3,4,1\n'),
    'nul-inside': (0, b'1,2,0\n3,\x004,1\n'),
}
for name, (opt, text) in csv.items():
    open(f'{out}/csv/{name}', 'wb').write(bytes([opt]) + text)
PY

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" train --data xor --layers 4:relu,2:softmax --optimizer sgd --momentum 0.9 \
    --epochs 3 --batch 4 --validation-split 0 --quiet --save "$out/checkpoint/xor-sgd"
printf 'a,b,y\n0.1,0.2,0.3\n0.4,0.5,0.6\n0.7,0.8,0.9\n1.0,1.1,1.2\n' > "$tmp/reg.csv"
"$bin" train --data "csv:$tmp/reg.csv" --loss mse --layers 3:tanh,1:linear --scale standard \
    --optimizer rmsprop --centered --momentum 0.5 --epochs 2 --batch 2 --validation-split 0 \
    --metrics mse,mae,rmse,mape --quiet --save "$out/checkpoint/regression-rmsprop"
"$bin" train --data xor --layers flatten,3:selu,2:softmax --optimizer adam --amsgrad \
    --lr-schedule exponential --epochs 2 --batch 2 --validation-split 0 --quiet \
    --save "$out/checkpoint/flatten-adam"
# the same xor model as a version 1 file: no metrics block (4 + 8 x 4 + 7 x 8
# bytes before n_params; 2 layers, no scaling), its checksum made anew
python3 - "$out/checkpoint" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
b = bytearray(open(f'{d}/xor-sgd', 'rb').read())
at = 32 + 2 * 16 + 4 + 188 - 8
del b[at:at + 92]
b[8:12] = struct.pack('<I', 1)
b[-4:] = struct.pack('<I', zlib.crc32(bytes(b[:-4])))
open(f'{d}/xor-sgd-v1', 'wb').write(b)
PY
ls -l "$out"/*
