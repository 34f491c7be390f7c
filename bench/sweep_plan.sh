#!/usr/bin/env bash
# Cost of planning and resuming a 1,000-cell sweep (no cell runs): plans the grid
# 4 records x 5 levels x 5 scaffolds x 2 models x 5 seeds, reads its state, then
# marks every cell finished and times the resume that finds nothing to do.
# usage: bench/sweep_plan.sh [build/runner/speedrun]   (run from the source root)
set -euo pipefail
exe=${1:-build/runner/speedrun}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
plan=$(secs "$exe" sweep "$dir/s" --records 1,2,3,4 --levels none,0,1,2,3 --scaffolds flat,tree,forest,aide,multi-aide \
  --models o3_mini,claude_sonnet_4 --seeds 0,1,2,3,4 --plan)
cells=$(grep -c '"id"' "$dir/s/sweep.json")
status=$(secs "$exe" sweep "$dir/s" --status)
for id in $(grep -o '"id": "[^"]*"' "$dir/s/sweep.json" | cut -d'"' -f4); do echo 0 > "$dir/s/state/$id.exit"; done
resume=$(secs "$exe" sweep "$dir/s")
echo "cells: $cells"
echo "plan (compose every distinct cell, find its hints, write the manifest): ${plan} s"
echo "status of every cell (all pending): ${status} s"
echo "resume with every cell finished (read the manifest and the state folder): ${resume} s"
echo "manifest: $(wc -c < "$dir/s/sweep.json") bytes"
