#!/usr/bin/env bash
# Step time of the record templates' attention paths on one GPU: records 3 and 4 (12 heads of
# 64, fused kernels), record 4 on the GEMM path, record 5 (6 heads of 128) as it chooses and on
# the GEMM path. 80 steps of batch 32 x 1024 on the mini corpus, no validation; prints a table
# of ms a step and the last logged loss (the fused and GEMM runs of one record should agree
# closely, not bit for bit).
#   bench/record_attention.sh MINI_DIR      (MINI_DIR holds mini_train_*.bin and mini_val_*.bin;
#                                           scripts/records/device-calibrate unpacks it in WORK_DIR/mini)
# Builds the templates with their build.sh if needed. Logs in $OUT (default /tmp/record-attention).
set -euo pipefail
mini=${1:?usage: bench/record_attention.sh MINI_DIR}
ls "$mini"/mini_train_*.bin > /dev/null 2>&1 || { echo "record_attention: no mini_train_*.bin in $mini; fix: unpack data/mini-bundle.tar.xz there" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
t=$root/workspace_templates/nanogpt_speedrun
out=${OUT:-/tmp/record-attention}
mkdir -p "$out"
for r in 3 4 5; do "$t/record_$r/build.sh" > "$out/build_record_$r.log" 2>&1 || { echo "record_attention: record $r does not build ($out/build_record_$r.log)" >&2; exit 1; }; done
printf '| trainer | attention flag | ms a step | train_loss at step 80 |\n|---|---|---|---|\n'
run() {  # run NAME RECORD [FLAGS...]
  local name=$1 r=$2; shift 2
  local log=$out/probe_$name.log
  timeout 120 "$t/record_$r/build/train_gpt2" --train "$mini/mini_train_*.bin" --val "$mini/mini_val_*.bin" \
    --batch 32 --seq 1024 --steps 80 --warmup 40 --lr 1e-3 --muon-lr 0.02 --val-every 0 --val-tokens 32768 \
    --summary "$out/summary_$name.json" "$@" > "$log" 2>&1 || echo "record_attention: $name failed ($log)" >&2
  local ms loss
  ms=$(grep -o 'step:80/80 [^ ]* train_time:[0-9]*ms step_avg:[0-9.]*ms' "$log" | tail -1 | grep -o 'step_avg:[0-9.]*' | cut -d: -f2)
  loss=$(grep -o 'step:80/80 train_loss:[0-9.]*' "$log" | tail -1 | cut -d: -f3)
  printf '| record %s | %s | %s | %s |\n' "$r" "${*:-(default)}" "${ms:--}" "${loss:--}"
}
run r3 3
run r4 4
run r4_gemm 4 --attention gemm
run r5 5
run r5_gemm 5 --attention gemm
