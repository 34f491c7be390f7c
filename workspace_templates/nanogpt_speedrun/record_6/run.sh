#!/usr/bin/env bash
# NanoGPT speedrun, record 6 (and 7: the same script, which the original record ran on a
# newer PyTorch): record 5 with Muon's work shared out among the GPUs (each orthogonalises
# every world-th block matrix; the bf16 updates are summed across GPUs) and QK-norm before
# the rotary embedding. Builds the trainer, then trains on N GPUs of this machine until the
# validation loss reaches the target, printing  step:N/M val_loss:X train_time:Yms step_avg:Zms
#   ./run.sh [N_GPUS]     (default 1)
# The task sets the track and data: SPEEDRUN_TRACK (mini|fineweb),
# SPEEDRUN_TRAIN_FILES, SPEEDRUN_VAL_FILES and SPEEDRUN_VALIDATION ("VAL_TOKENS TARGET_LOSS");
# SPEEDRUN_VAL_TOKENS / SPEEDRUN_TARGET_VAL_LOSS override single values.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gpus=${1:-1}
[[ $gpus =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: the GPU count must be a positive integer, got '$gpus'" >&2; exit 2; }
"$here/build.sh" >&2

track=${SPEEDRUN_TRACK:-mini}
read -r task_val_tokens task_target _ <<< "${SPEEDRUN_VALIDATION:-}" || true
case $track in
  mini)  # one GPU, a local corpus: 32K tokens a step
    train=${SPEEDRUN_TRAIN_FILES:-data/mini/mini_train_*.bin}
    val=${SPEEDRUN_VAL_FILES:-data/mini/mini_val_*.bin}
    val_tokens=${SPEEDRUN_VAL_TOKENS:-${task_val_tokens:-1048576}}
    target=${SPEEDRUN_TARGET_VAL_LOSS:-${task_target:-3.89}}
    global_batch=32 steps=135 warmup=0 warmdown=38 val_every=25 lr=3.6e-3 muon_lr=3.6e-4 ;;
  fineweb)  # the record's own settings: 8 x 64 x 1024 = 524,288 tokens a step
    train=${SPEEDRUN_TRAIN_FILES:-data/fineweb10B/fineweb_train_*.bin}
    val=${SPEEDRUN_VAL_FILES:-data/fineweb10B/fineweb_val_*.bin}
    val_tokens=${SPEEDRUN_VAL_TOKENS:-${task_val_tokens:-10485760}}
    target=${SPEEDRUN_TARGET_VAL_LOSS:-${task_target:-3.28}}
    global_batch=512 steps=5100 warmup=0 warmdown=1450 val_every=125 lr=3.6e-3 muon_lr=3.6e-4 ;;
  *) echo "run.sh: unknown track '$track'; fix: set SPEEDRUN_TRACK to mini or fineweb" >&2; exit 2 ;;
esac
# Sequences of 1024 tokens per GPU per micro-step; the rest of the global batch is gradient accumulation.
per_gpu=$((global_batch / gpus))
((per_gpu * gpus == global_batch)) || { echo "run.sh: $gpus GPUs do not divide the batch of $global_batch sequences" >&2; exit 2; }
micro=$((per_gpu < 64 ? per_gpu : 64))
accum=$((per_gpu / micro))

program=${BUILD_DIR:-build}/train_gpt2
[[ $program == /* ]] || program=$here/$program
exec "$program" --nproc "$gpus" --train "$train" --val "$val" \
  --batch "$micro" --seq 1024 --grad-accum "$accum" --steps "$steps" --warmup "$warmup" --warmdown "$warmdown" --lr "$lr" --muon-lr "$muon_lr" \
  --val-every "$val_every" --val-tokens "$val_tokens" --target-val-loss "$target" \
  --summary "${SPEEDRUN_SUMMARY:-summary.json}"
