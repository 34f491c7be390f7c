#!/usr/bin/env bash
# Builds bench/template_phases.cpp against one record template's own objects (the template's
# build.sh compiles them) and runs it on the GPU: the step split into forward, backward,
# optimizer update and loss read-back, medians over the timed steps.
#   bench/template_phases.sh TEMPLATE_DIR [template-phases options: --batch --seq --steps --warmup]
#   bench/template_phases.sh --check [TEMPLATE_DIR...]   (no GPU: only compile it against each template,
#                                                      default every record template; 77 without nvcc)
# env: BUILD_DIR (default /tmp/template-phases/NAME), JOBS and OBJ_CACHE as build.sh takes them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "template_phases.sh: $1" >&2; [[ -n ${2:-} ]] && echo "fix: $2" >&2; exit 2; }
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [[ ! -x $nvcc ]]; then
  [[ ${1:-} == --check ]] && { echo "template_phases.sh: nvcc not found: skipped"; exit 77; }
  die "nvcc not found" "put the CUDA toolkit's bin/ on PATH"
fi
# the toolkit as the templates' build.sh finds it (CUDA_HOME first); its headers where nvcc itself
# looks for them when that folder has none (a toolkit laid out under targets/)
cuda_home=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$nvcc")")")}
cuda_include=$cuda_home/include
if [[ ! -f $cuda_include/cuda_bf16.h ]]; then
  cuda_include=$("$nvcc" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ INCLUDES="-I\([^"]*\)".*/\1/p' | head -n1)
  cuda_include=${cuda_include%% *}
  [[ -f $cuda_include/cuda_bf16.h ]] ||
    die "the CUDA headers (cuda_bf16.h) are in neither $cuda_home/include nor where $nvcc looks" "set CUDA_HOME to the toolkit's folder"
fi
cxx=(${CXX:-g++} -std=c++23 -O2 -Wall -Wextra "-I$cuda_include")
template_dir() {
  [[ -f ${1:-}/gpt2.hpp && -x ${1:-}/build.sh ]] ||
    die "'${1:-}' is not a record template (no gpt2.hpp and build.sh)" "name e.g. workspace_templates/nanogpt_speedrun/record_1"
  (cd "$1" && pwd)
}

if [[ ${1:-} == --check ]]; then
  shift
  templates=("$@")
  if ((${#templates[@]} == 0)); then
    for r in $("$root/scripts/records/record-numbers"); do templates+=("$root/workspace_templates/nanogpt_speedrun/record_$r"); done
  fi
  for t in "${templates[@]}"; do
    dir=$(template_dir "$t")
    "${cxx[@]}" "-I$dir" "-I$dir/include" -fsyntax-only "$root/bench/template_phases.cpp" ||
      die "bench/template_phases.cpp does not compile against $dir" "follow the template's GPT2 interface"
    echo "template_phases.cpp compiles against $(basename "$dir")"
  done
  exit 0
fi

dir=$(template_dir "${1:-}"); shift
build=${BUILD_DIR:-/tmp/template-phases/$(basename "$dir")}
mkdir -p "$build"
BUILD_DIR=$build "$dir/build.sh" --force >&2
objects=()
for o in "$build"/*.o; do [[ $o == */train_gpt2.o || $o == */template_phases.o ]] || objects+=("$o"); done
# the template's NCCL library, where its trainer links one (several GPUs); one GPU needs none
nccl=$(ldd "$build/train_gpt2" 2>/dev/null | awk '/libnccl/ { print $3; exit }')
"${cxx[@]}" "-I$dir" "-I$dir/include" -c "$root/bench/template_phases.cpp" -o "$build/template_phases.o"
"${cxx[0]}" -o "$build/template-phases" "$build/template_phases.o" "${objects[@]}" "-L$cuda_home/lib64" -lcublasLt \
  -lcublas -lcudart ${nccl:+"$nccl" "-Wl,-rpath,$(dirname "$nccl")"} "-Wl,-rpath,$cuda_home/lib64" -lpthread
exec "$build/template-phases" "$@"
