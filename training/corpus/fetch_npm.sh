#!/usr/bin/env bash
# Downloads the npm tarballs pinned in npm-lock.txt (name@version; no dependencies, no install
# scripts) and unpacks each into $WORK/npm/pkgs/<name>-<version>. npm-packages.txt is the
# human-edited list the lock was made from (refresh the lock with --refresh). Benchmark corpora
# (fastify, got, ripgrep and its crates) and the fastify project's helper packages are excluded
# by name here and again by path in build_passages.ts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-$here/../work}
mkdir -p "$WORK/npm/tgz" "$WORK/npm/pkgs"
exclude='fastify|^got(@|$)|ripgrep|^ignore(@|$)|globset|^grep|avvio|light-my-request|find-my-way|fast-json-stringify'
if [ "${1:-}" = "--refresh" ]; then
  names=$(grep -v '^#' "$here/npm-packages.txt" | tr ' ' '\n' | grep -v '^$' | sort -u | grep -Ev "$exclude")
else
  names=$(grep -v '^#' "$here/npm-lock.txt" | grep -v '^$' | grep -Ev "$exclude")
fi
cd "$WORK/npm/tgz"
echo "$names" | xargs -n 16 sh -c 'npm pack --silent --ignore-scripts "$@" >> ../packed.txt 2>>../errors.txt || true' _
for t in *.tgz; do
  d="$WORK/npm/pkgs/${t%.tgz}"
  [ -d "$d" ] && continue
  mkdir -p "$d" && tar xzf "$t" -C "$d" --strip-components=1 2>/dev/null || true
done
echo "npm: $(ls "$WORK/npm/pkgs" | wc -l) packages unpacked" >&2
