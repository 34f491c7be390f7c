#!/usr/bin/env bash
# Builds this record's trainer into $BUILD_DIR/train_gpt2 (default build/) with
# nvcc for the kernels and the host C++ compiler for the rest; rebuilds only
# when a source is newer than the program.
#   ./build.sh [--force]     env: GPU_ARCH (default 90), CXX, BUILD_DIR, JOBS,
#                            OBJ_CACHE (a folder: objects reused by content hash)
set -euo pipefail
cd "$(dirname "$0")"
cuda_sources=(kernels.cu)
host_sources=(blas.cpp gpt2.cpp muon.cpp distributed.cpp token_loader.cpp train_gpt2.cpp)

build=${BUILD_DIR:-build}
arch=${GPU_ARCH:-90}
cxx=${CXX:-g++}
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[[ -x $nvcc ]] || { echo "build.sh: nvcc not found; fix: put the CUDA toolkit's bin/ on PATH" >&2; exit 2; }
cuda_home=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$nvcc")")")}
mkdir -p "$build"
program=$build/train_gpt2
if [[ ${1:-} != --force && -x $program ]] && [[ -z $(find . -maxdepth 3 -newer "$program" \( -name '*.cu' -o -name '*.cuh' -o -name '*.cpp' -o -name '*.hpp' -o -name build.sh \) -not -path "./$build/*" -print -quit) ]]; then
  exit 0
fi

# NCCL (several GPUs): the toolkit's, $NCCL_ROOT, or the Python wheel's; without it one GPU works.
nccl_inc='' nccl_lib=''
for root in "${NCCL_ROOT:-}" "$cuda_home" /usr; do
  if [[ -n $root && -f $root/include/nccl.h ]]; then nccl_inc=$root/include; nccl_lib=$root/lib; [[ -d $root/lib64 ]] && nccl_lib=$root/lib64; break; fi
done
if [[ -z $nccl_inc ]] && wheel=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null); then
  [[ -f $wheel/include/nccl.h ]] && nccl_inc=$wheel/include nccl_lib=$wheel/lib
fi
nccl_flags=() nccl_link=()
if [[ -n $nccl_inc ]]; then
  nccl_flags=(-DSPEEDRUN_HAVE_NCCL "-I$nccl_inc")
  lib=$(ls "$nccl_lib"/libnccl.so* /usr/lib/x86_64-linux-gnu/libnccl.so* 2>/dev/null | head -1 || true)
  [[ -n $lib ]] && nccl_link=("$lib" "-Wl,-rpath,$(dirname "$lib")")
  [[ -z $lib ]] && nccl_flags=()
fi

nvcc_cmd=("$nvcc" -std=c++20 -O3 --expt-relaxed-constexpr -lineinfo "-Xcompiler=-Wno-pedantic"
          -gencode "arch=compute_$arch,code=sm_$arch" -Iinclude)
cxx_cmd=("$cxx" -std=c++23 -O2 -Wall -Wextra -Iinclude "-I$cuda_home/include" "${nccl_flags[@]}")

# compile SRC OBJ CMD...: with OBJ_CACHE, an object whose preprocessed source
# and command were compiled before is copied instead.
compile() {
  local src=$1 obj=$2; shift 2
  if [[ -n ${OBJ_CACHE:-} ]]; then
    mkdir -p "$OBJ_CACHE"
    local key
    key=$( { "$@" -E "$src" 2>/dev/null | grep -v '^#'; echo "$*"; } | sha256sum | cut -c1-40)
    if [[ -f $OBJ_CACHE/$key.o ]]; then cp "$OBJ_CACHE/$key.o" "$obj"; return 0; fi
    "$@" -c "$src" -o "$obj" && cp "$obj" "$OBJ_CACHE/$key.o.tmp$$" && mv "$OBJ_CACHE/$key.o.tmp$$" "$OBJ_CACHE/$key.o"
  else
    "$@" -c "$src" -o "$obj"
  fi
}

jobs=${JOBS:-$(nproc)}
pids=() objects=()
run_limited() {
  while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
  "$@" & pids+=($!)
}
for src in "${cuda_sources[@]}"; do objects+=("$build/${src%.*}.o"); run_limited compile "$src" "$build/${src%.*}.o" "${nvcc_cmd[@]}"; done
for src in "${host_sources[@]}"; do objects+=("$build/${src%.*}.o"); run_limited compile "$src" "$build/${src%.*}.o" "${cxx_cmd[@]}"; done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if ((status)); then echo "build.sh: compilation failed (messages above)" >&2; exit 1; fi
"$cxx" -o "$program.tmp" "${objects[@]}" "-L$cuda_home/lib64" -lcublasLt -lcublas -lcudart "${nccl_link[@]}" \
  "-Wl,-rpath,$cuda_home/lib64" -lpthread
mv "$program.tmp" "$program"
