#!/usr/bin/env bash
# The GPU run that produced the shipped model's candidates: four configurations of
# train_fgr.py trained side by side on one GPU (the same script as the CPU recipe, bigger budget).
# Needs training/work/train-data.npz and training/work/punct.json (train.sh steps 1-5 and pack).
# Writes <tag>.npz per configuration and logs.tar to $OUT (default training/work/gpu).
set -uo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-work/gpu}
mkdir -p "$OUT"
nvidia-smi -L || { echo "no GPU"; exit 3; }
python3 -c "import torch; assert torch.cuda.is_available(); print('torch', torch.__version__)" || exit 3
run() {  # tag, then train_fgr.py arguments
  local tag=$1; shift
  timeout "${LIMIT:-555}" python3 train_fgr.py --data work/train-data.npz --punct work/punct.json --out "$OUT" \
    --device cuda --threads 2 --mlm-bs 256 --bs 128 --dev 2000 --log-every 200 --seed 13 --tag "$tag" "$@" > "$OUT/$tag.out" 2>&1
  echo "$tag exit $?" >> "$OUT/status.txt"
}
M=${MLM_MIN:-3}; R=${RANK_MIN:-4.5}; T=$(python3 -c "print($M + $R)")
if [ "${EXPERIMENT:-size}" = size ]; then
  # 1: model size and MLM pretraining
  run h256-mlm --hidden 256 --heads 4 --mlm-minutes "$M" --rank-minutes "$R" &
  run h192-mlm --hidden 192 --heads 6 --mlm-minutes "$M" --rank-minutes "$R" &
  run h128-mlm --hidden 128 --heads 4 --mlm-minutes "$M" --rank-minutes "$R" &
  run h192-rank --hidden 192 --heads 6 --mlm-minutes 0 --rank-minutes "$T" &
else
  # 2: which pair types transfer to real questions (width 128, short runs)
  run mix-all --hidden 128 --heads 4 --mlm-minutes "$M" --rank-minutes "$R" &
  run mix-nosummary --hidden 128 --heads 4 --mlm-minutes "$M" --rank-minutes "$R" --exclude-types summary &
  run mix-nosummary-noinplace --hidden 128 --heads 4 --mlm-minutes "$M" --rank-minutes "$R" --exclude-types summary,inplace &
  run mix-ict --hidden 128 --heads 4 --mlm-minutes "$M" --rank-minutes "$R" --exclude-types summary,heading,symbol &
fi
wait
rm -f "$OUT"/*.log.json  # each .npz carries its own summary
(cd "$OUT" && tar cf logs.tar *.out status.txt)
cat "$OUT/status.txt"; for f in "$OUT"/*.out; do echo "== $f"; grep -v '"rank"\|"mlm"' "$f" | tail -6; done
