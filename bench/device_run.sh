#!/usr/bin/env bash
# One device call for the CUDA trainer: build (-Dscaffold=false), GPU tests,
# a training check of the 124M model on real text, and the CUDA vs PyTorch
# benchmark. Logs go under $OUT; a short table is printed last.
#   bench/device_run.sh [all|tests|train|bench|breakdown|profile|dp]...   (default: tests train bench)
set -u
OUT=${OUT:-/tmp/speedrun-out}
mkdir -p "$OUT"
parts=${*:-tests train bench}
[[ $parts == all ]] && parts="tests train bench dp"
export NCCL_NVLS_ENABLE=0
summary=()
say() { summary+=("$*"); echo "== $*"; }

nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1
say "GPU: $(sed -n 2p "$OUT/gpu.txt") ($(($(wc -l < "$OUT/gpu.txt") - 1)) visible)"

# NCCL from the pip wheel when the toolkit has none
if [[ ! -f /usr/local/cuda/include/nccl.h && -z ${NCCL_ROOT:-} ]]; then
  wheel=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null || true)
  if [[ -n $wheel && -d $wheel/lib ]]; then
    mkdir -p /tmp/nccl/lib
    ln -sf "$wheel/include" /tmp/nccl/include
    for f in "$wheel"/lib/libnccl.so*; do ln -sf "$f" /tmp/nccl/lib/; done
    ln -sf "$(ls "$wheel"/lib/libnccl.so* | head -1)" /tmp/nccl/lib/libnccl.so
    export NCCL_ROOT=/tmp/nccl LD_LIBRARY_PATH=/tmp/nccl/lib:${LD_LIBRARY_PATH:-}
  fi
fi

start=$(date +%s.%N)
if [[ ! -f build-dev/build.ninja ]]; then
  meson setup build-dev -Dscaffold=false -Dcuda=enabled > "$OUT/setup.log" 2>&1 || { say "meson setup FAILED"; tail -30 "$OUT/setup.log"; }
fi
# only the CUDA module and its tests: the GPU image has Boost's headers but no Boost.JSON library
ninja -C build-dev cuda/speedrun-train-gpt2 cuda/bench-gpt2 cuda/speedrun-gpu-info tests/test_cuda_cpu_reference \
  tests/test_cuda_token_loader tests/test_cuda_zero_shard tests/cuda/test_cuda_kernels tests/cuda/test_cuda_gpt2 tests/cuda/test_cuda_train_cli \
  > "$OUT/build.log" 2>&1 && build_ok=1 || build_ok=0
say "build: $([[ $build_ok == 1 ]] && echo ok || echo FAILED) in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.0f", e-s}') s; NCCL: $(grep -m1 'NCCL' "$OUT/setup.log" 2>/dev/null | tr -s ' ')"
[[ $build_ok == 1 ]] || { grep -B2 -A10 -m3 'error' "$OUT/build.log" | head -60; }

if [[ $parts == *tests* && $build_ok == 1 ]]; then
  meson test -C build-dev --no-rebuild -v --num-processes 1 cuda_cpu_reference cuda_token_loader cuda_zero_shard cuda_gpu_info cuda_kernels cuda_gpt2 \
    > "$OUT/tests.log" 2>&1
  say "tests: $(grep -E '^(Ok|Fail|Skipped):' "$OUT/tests.log" | tr -s ' ' | tr '\n' ' ')"
  grep -E 'rel err|loss gpu|gpu .* cpu|bias gradient from|zero-1' "$OUT/tests.log" > "$OUT/test_errors.txt"
  grep -E 'FAILED|REQUIRE|CHECK\(' "$OUT/tests.log" | head -20
fi

if [[ $parts == *train* && $build_ok == 1 ]]; then
  # the mini track's corpus (GPT-2 BPE tokens) when its bundle is carried; else Python's
  # standard library source as byte tokens (the GPU image has no tokenizer files)
  if [[ -f data/mini-bundle.tar.xz ]]; then
    mkdir -p /tmp/mini && tar xJf data/mini-bundle.tar.xz -C /tmp/mini
    train_glob='/tmp/mini/mini_train_*.bin' val_glob='/tmp/mini/mini_val_*.bin'
    corpus="the mini corpus, $(stat -c %s /tmp/mini/mini_train_*.bin | awk '{t += ($1 - 1024) / 2} END {printf "%.1fM", t / 1e6}') train tokens"
  else
    python3 bench/make_text_shards.py /tmp/text 20000000 > "$OUT/text.log" 2>&1
    train_glob='/tmp/text/text_train_*.bin' val_glob='/tmp/text/text_val_*.bin'
    corpus="Python stdlib source as bytes; $(cat "$OUT/text.log")"
  fi
  build-dev/cuda/speedrun-train-gpt2 --train "$train_glob" --val "$val_glob" \
    --batch 32 --steps ${TRAIN_STEPS:-300} --warmup 30 --lr 1e-3 --val-every 50 --val-tokens 1048576 \
    --summary "$OUT/train_summary.json" > "$OUT/train.log" 2>&1
  say "train (124M, B=32 T=1024, $corpus): $(grep val_loss "$OUT/train.log" | sed 's/ train_time.*//' | tr '\n' ' ')"
  say "train timing: $(grep val_loss "$OUT/train.log" | tail -1 | grep -o 'train_time.*')"
  tail -3 "$OUT/train.log"
fi

if [[ $parts == *bench* && $build_ok == 1 ]]; then
  # SM clock and power every 200 ms during the benchmark: a card held back by its power cap shows here
  nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv,noheader -lms 200 > "$OUT/clocks.csv" 2>&1 &
  clocks_pid=$!
  bench/compare.sh build-dev/cuda/bench-gpt2 --batches ${BENCH_BATCHES:-32,64} --steps 20 --attention ${BENCH_ATTENTION:-both} > "$OUT/bench.log" 2>&1
  kill $clocks_pid 2>/dev/null
  say "clocks during the benchmark (MHz; min/median/max): $(awk -F', ' '{print $2+0}' "$OUT/clocks.csv" | sort -n | awk '{a[NR]=$1} END {if (NR) print a[1] "/" a[int((NR+1)/2)] "/" a[NR]}'); power W max: $(awk -F', ' '{print $3+0}' "$OUT/clocks.csv" | sort -n | tail -1)"
  summary+=("$(sed -n '/^batch  cuda/,$p' "$OUT/bench.log")")
  grep -E '^(card|cuda|torch)' "$OUT/bench.log"
  grep -iE 'error|Traceback' "$OUT/bench.log" | head -5
fi

if [[ $parts == *breakdown* && $build_ok == 1 ]]; then
  for b in ${BREAKDOWN_BATCHES:-32}; do
    build-dev/cuda/bench-gpt2 --breakdown $b > "$OUT/breakdown_$b.log" 2>&1
    grep -E '^bias gradients' "$OUT/breakdown_$b.log"
    sed -n '/^breakdown/,$p' "$OUT/breakdown_$b.log"
  done
fi

# PyTorch's kernels in its compiled step (torch.profiler), to see where it is faster than we are
if [[ $parts == *profile* ]]; then
  for b in ${PROFILE_BATCHES:-32}; do
    python3 bench/torch_gpt2.py --batches $b --steps 10 --profile 3 > "$OUT/torch_profile_$b.log" 2>&1
    sed -n '/^torch kernels/,$p' "$OUT/torch_profile_$b.log" | cut -c1-100,180-215 | head -45
  done
fi

if [[ $parts == *dp* && $build_ok == 1 ]]; then
  tests/cuda/data_parallel.sh build-dev/cuda/speedrun-train-gpt2 > "$OUT/dp.log" 2>&1
  say "data parallel: exit $? $(grep -E 'largest' "$OUT/dp.log" | tr '\n' ' ')"
  tail -40 "$OUT/dp.log"
fi

echo
echo "================ summary ================"
printf '%s\n' "${summary[@]}"
