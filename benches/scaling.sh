#!/usr/bin/env bash
# Scaling figures for the README: the scan of trees of about 10k, 30k and 100k files (built by
# hard-linking the real tree of ../shared/bench/real-tree.sh), and the 30k tree with 1 and 2
# threads, each beside fd's walk of the same tree. Needs hyperfine and fd-find.
# Usage: benches/scaling.sh BINARY REAL_TREE_DIR WORK_DIR
set -euo pipefail
bin=${1:?usage: scaling.sh BINARY REAL_TREE_DIR WORK_DIR}
real=${2:?usage: scaling.sh BINARY REAL_TREE_DIR WORK_DIR}/pkgs
work=${3:?usage: scaling.sh BINARY REAL_TREE_DIR WORK_DIR}
mkdir -p "$work"
if [ ! -d "$work/t10k" ]; then
  mkdir -p "$work/t10k"
  (cd "$real" && find . -type f | sed -n "1,10000p" | cpio -pdml --quiet "$work/t10k")
fi
if [ ! -d "$work/t100k" ]; then
  for i in 1 2 3; do mkdir -p "$work/t100k/copy$i" && cp -al "$real" "$work/t100k/copy$i/pkgs"; done
  cp -al "$work/t10k" "$work/t100k/part"
fi
for tree in "$work/t10k" "$real" "$work/t100k"; do
  echo "== $(find "$tree" -type f | wc -l) files"
  hyperfine -N -i --warmup 2 --runs 10 --style basic \
    -n walk "fdfind -H -I -t f . $tree" \
    -n scan-known-kinds "$bin --no-ignore --known-kinds-only --fail-on never --format json -o /dev/null $tree" \
    -n scan "$bin --no-ignore --fail-on never --format json -o /dev/null $tree"
done
echo "== threads, $(find "$real" -type f | wc -l) files"
hyperfine -N -i --warmup 2 --runs 10 --style basic \
  -n "scan-known-kinds -j1" "$bin -j 1 --no-ignore --known-kinds-only --fail-on never --format json -o /dev/null $real" \
  -n "scan-known-kinds -j2" "$bin -j 2 --no-ignore --known-kinds-only --fail-on never --format json -o /dev/null $real" \
  -n "scan -j1" "$bin -j 1 --no-ignore --fail-on never --format json -o /dev/null $real" \
  -n "scan -j2" "$bin -j 2 --no-ignore --fail-on never --format json -o /dev/null $real"
