#!/usr/bin/env bash
# Data parallel gives the single-GPU loss curve: the trainer on 1 GPU with a
# global batch of 16 sequences against 2 GPUs x 8 (and 4 x 4 where there are
# 4 GPUs), same data, same seed, with the gradient all-reduced (--zero 0) and
# with ZeRO-1 (--zero 1); the training losses of every step must agree to
# within bf16 noise. Prints each rank's memory. Exits 77 (skipped) with fewer
# than 2 GPUs.
#   data_parallel.sh path/to/speedrun-train-gpt2
set -euo pipefail
exe=$1
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
if [[ ${gpus:-0} -lt 2 ]]; then
  echo "fewer than 2 GPUs ($gpus): data-parallel test skipped"
  exit 77
fi
export NCCL_NVLS_ENABLE=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$exe" --write-synthetic "$work" --synthetic-tokens 4000000 >/dev/null
common=(--train "$work/synthetic_train_*.bin" --val "$work/synthetic_val_*.bin" --layers 2 --seq 256
        --steps 30 --warmup 5 --lr 1e-3 --val-every 0 --val-tokens 262144 --untimed-steps 2)
losses() { grep -o 'train_loss:[0-9.]*' "$1" | cut -d: -f2; }

"$exe" "${common[@]}" --batch 16 > "$work/n1.log"
echo "1 GPU: $(grep '^memory' "$work/n1.log" | tr '\n' ' ')"
status=0
for n in 2 4; do
  (( gpus >= n )) || continue
  for zero in 0 1; do
    log=$work/n${n}_zero$zero.log
    label="$n GPUs"
    if [[ $zero == 1 ]]; then label="$n GPUs ZeRO-1"; fi
    "$exe" "${common[@]}" --batch $((16 / n)) --nproc $n --zero $zero > "$log"
    worst=$(paste <(losses "$work/n1.log") <(losses "$log") |
            awk '{d = $1 - $2; if (d < 0) d = -d; if (d > w) w = d; n++} END {if (n != 30) print "missing"; else printf "%.5f", w}')
    echo "1 GPU vs $label: largest train-loss difference over 30 steps: $worst"
    echo "  1 GPU : $(losses "$work/n1.log" | sed -n '1p;10p;20p;30p' | tr '\n' ' ')"
    echo "  $label: $(losses "$log" | sed -n '1p;10p;20p;30p' | tr '\n' ' ')"
    grep val_loss "$log" | tail -1
    grep '^memory' "$log" | sed 's/^/  /' || true
    if [[ $worst == missing ]] || awk -v w="$worst" 'BEGIN {exit !(w > 0.02)}'; then status=1; fi
  done
done
exit $status
