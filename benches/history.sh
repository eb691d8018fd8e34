#!/usr/bin/env bash
# History-scan figures for the README: `--history` on a clone's whole history beside
# kingfisher's git scan (PyPI `kingfisher-bin`) and `git cat-file --batch-all-objects --batch
# --unordered` (every object of the repository read once: the floor for reading history), in
# one hyperfine run; then the peak resident memory of `--history` with /usr/bin/time -v.
# Needs hyperfine, git, kingfisher and GNU time. A bare repository (the `fetch` tool's git dir)
# works: `--history` and `git --git-dir` read it, kingfisher scans it as a git repository.
# Usage: benches/history.sh BINARY GIT_DIR [RUNS]
set -euo pipefail
bin=${1:?usage: history.sh BINARY GIT_DIR [RUNS]}
repo=${2:?usage: history.sh BINARY GIT_DIR [RUNS]}
runs=${3:-5}
echo "== $(git --git-dir="$repo" rev-list --all | wc -l) commits, $(git --git-dir="$repo" count-objects -v | sed -n 's/^in-pack: //p') packed objects"
hyperfine -N -i --warmup 1 --runs "$runs" --style basic \
  -n npm-auth-scan "$bin --history --fail-on never --format json -o /dev/null $repo" \
  -n kingfisher "kingfisher scan $repo --git-history full --no-update-check --format json --output /dev/null" \
  -n cat-file "git --git-dir=$repo cat-file --batch-all-objects --batch --unordered"
/usr/bin/time -v "$bin" --history --fail-on never --format json -o /dev/null "$repo" 2>&1 \
  | grep -E 'Maximum resident|Elapsed'
