#!/usr/bin/env bash
# Downloads the tarballs named in npm-packages.txt (no dependencies, no install scripts) and
# unpacks each into $WORK/npm/<name>. Deterministic given the registry: versions are recorded
# in $WORK/npm/versions.tsv. Benchmark corpora (fastify, got, ripgrep and their crates) and the
# fastify project's own helper packages are excluded by name, wherever they appear.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-$here/../work}
mkdir -p "$WORK/npm/tgz" "$WORK/npm/pkgs"
exclude='fastify|^got$|ripgrep|^ignore$|globset|^grep|avvio|light-my-request|find-my-way|fast-json-stringify'
names=$(grep -v '^#' "$here/npm-packages.txt" | tr ' ' '\n' | grep -v '^$' | sort -u | grep -Ev "$exclude")
cd "$WORK/npm/tgz"
echo "$names" | xargs -n 16 sh -c 'npm pack --silent --ignore-scripts "$@" >> ../packed.txt 2>>../errors.txt || true' _
for t in *.tgz; do
  d="$WORK/npm/pkgs/${t%.tgz}"
  [ -d "$d" ] && continue
  mkdir -p "$d" && tar xzf "$t" -C "$d" --strip-components=1 2>/dev/null || true
done
ls "$WORK/npm/pkgs" > "$WORK/npm/versions.tsv"
echo "npm: $(ls "$WORK/npm/pkgs" | wc -l) packages unpacked" >&2
