#!/usr/bin/env bash
# Builds bench/template_phases.cpp against one record template's own objects
# (scripts/records/template-program) and runs it on the GPU: the step split into forward,
# backward, optimizer update and loss read-back, medians over the timed steps.
#   bench/template_phases.sh TEMPLATE_DIR [template-phases options: --batch --seq --steps --warmup]
#   bench/template_phases.sh --check [TEMPLATE_DIR...]   (no GPU: only compile it against each template,
#                                                      default every record template; 77 without nvcc)
# env: BUILD_DIR (default /tmp/template-phases/NAME), JOBS and OBJ_CACHE as build.sh takes them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
program=$root/scripts/records/template-program
if [[ ${1:-} == --check ]]; then
  shift
  exec "$program" --check "$root/bench/template_phases.cpp" "$@"
fi
dir=${1:-}
(($# > 0)) && shift
build=${BUILD_DIR:-/tmp/template-phases/$(basename "$dir")}
BUILD_DIR=$build "$program" "$root/bench/template_phases.cpp" "$dir" "$build/template-phases"
exec "$build/template-phases" "$@"
