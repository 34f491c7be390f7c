#!/usr/bin/env bash
# scripts/records/check-determinism with stand-ins for nvidia-smi, nvcc (the kernel check) and the
# trainer (TRAINER): the arguments each template's trainer gets, the data it is pointed at, and the
# verdicts and exit statuses for identical logs, logs that differ in a loss or in the summary, a
# crash, a kernel check that fails, crashes or does not build, and no GPU.
#   tests/records/check_determinism.sh SOURCE_ROOT
set -u
root=$1
script=$root/scripts/records/check-determinism
templates=$root/workspace_templates/nanogpt_speedrun
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/bin"
cat > "$tmp/bin/nvidia-smi" << 'EOF'
#!/usr/bin/env bash
# FAKE_GPUS=0: a machine whose nvidia-smi lists no GPU
((${FAKE_GPUS:-1})) || exit 9
case "$*" in
  -L) echo "GPU 0: Stand-in H100 (UUID: GPU-0)" ;;
  *compute_cap*) echo "9.0" ;;
  *) echo "Stand-in H100" ;;
esac
EOF
# nvcc: logs its arguments; the program it "builds" reports as FAKE_KERNELS says (pass, wrong,
# crash; nobuild: the build fails).
cat > "$tmp/bin/nvcc" << 'EOF'
#!/usr/bin/env bash
echo "nvcc $*" >> "${FAKE_STATE:?}/calls"
[[ ${FAKE_KERNELS:-pass} == nobuild ]] && { echo "template_kernels.cu(1): error: stand-in" >&2; exit 1; }
out=''; while (($#)); do [[ $1 == -o ]] && out=$2; shift; done
case ${FAKE_KERNELS:-pass} in
  pass) printf '%s\n' '#!/usr/bin/env bash' \
    'echo "encoder_backward dwte: matches the CPU sums (largest error 1e-06) and repeats bit for bit"' \
    'echo "sum_squares (accumulating): matches the CPU sums (largest error 0) and repeats bit for bit"' \
    'echo "flash attention HS=64 T=200: output and dqkv match the CPU reference (relative error 0.002, 0.002) and repeat bit for bit"' \
    'echo "timing: encoder_backward 20.0 us per call (with float atomics 30.0 us)"' > "$out" ;;
  wrong) printf '%s\n' '#!/usr/bin/env bash' \
    'echo "layernorm_backward dbias: FAILED: 3 of 768 values off; worst [5] 1 vs 2"; exit 1' > "$out" ;;
  crash) printf '%s\n' '#!/usr/bin/env bash' 'echo "[CUDA error] stand-in" >&2; exit 1' > "$out" ;;
esac
chmod +x "$out"
EOF
# The trainer: losses fixed by the step; timings differ per run (they must be stripped).
# FAKE_MODE: same, train (run 2 changes step 7's train loss by 1e-4), summary (run 2's summary
# final_val_loss differs in the 6th decimal), crash (run 2 fails).
cat > "$tmp/bin/fake-train" << 'EOF'
#!/usr/bin/env bash
state=${FAKE_STATE:?}
if [[ $1 == --write-synthetic ]]; then
  mkdir -p "$2" && : > "$2/synthetic_train_000000.bin" && : > "$2/synthetic_val_000000.bin"
  echo "synthetic $2" >> "$state/calls"; exit 0
fi
echo "$*" >> "$state/calls"
n=$(($(cat "$state/count" 2> /dev/null || echo 0) + 1)); echo "$n" > "$state/count"
mode=${FAKE_MODE:-same} steps=0 every=0 summary=''
while (($# >= 2)); do
  case $1 in --steps) steps=$2 ;; --val-every) every=$2 ;; --summary) summary=$2 ;; esac
  shift 2
done
[[ $mode == crash && $n == 2 ]] && { echo "CUDA error: stand-in crash" >&2; exit 1; }
echo "model: stand-in"
for ((s = 0; s <= steps; s++)); do
  loss=$((90000 - 100 * s))
  if ((s > 0)); then
    t=$loss; [[ $mode == train && $n == 2 && $s == 7 ]] && t=$((t + 10))
    printf 'step:%d/%d train_loss:5.%04d train_time:%dms step_avg:%d.00ms\n' "$s" "$steps" $((t / 10)) $((s * 70 + n)) $((70 + n))
  fi
  ((s % every == 0 || s == steps)) &&
    printf 'step:%d/%d val_loss:4.%04d train_time:%dms step_avg:%d.00ms\n' "$s" "$steps" $((loss / 10)) $((s * 70 + n)) $((70 + n))
done
final=4.812345; [[ $mode == summary && $n == 2 ]] && final=4.812346
[[ -n $summary ]] && echo "{\"steps\": $steps, \"final_val_loss\": $final, \"final_train_loss\": 5.1, \"train_time_ms\": $((steps * 70 + n))}" > "$summary"
exit 0
EOF
chmod +x "$tmp/bin/nvidia-smi" "$tmp/bin/nvcc" "$tmp/bin/fake-train"

# check NAME ENV... -- DIRS...: a call with its own state and WORK_DIR; output in $tmp/NAME.txt, status in rc
check() {
  local name=$1; shift
  local env_args=()
  while [[ $1 != -- ]]; do env_args+=("$1"); shift; done
  shift
  mkdir -p "$tmp/$name/state"
  env PATH="$tmp/bin:$PATH" GPU_ARCH= FAKE_STATE="$tmp/$name/state" WORK_DIR="$tmp/$name/work" TRAINER="$tmp/bin/fake-train" \
    STEPS=12 VAL_EVERY=4 "${env_args[@]}" "$script" "$@" > "$tmp/$name.txt" 2>&1
  rc=$?
}
r1=$templates/record_1 r3=$templates/record_3

# Identical logs (timings apart) from two templates: both deterministic, status 0.
check same OUT="$tmp/same/out" SPEEDRUN_TRAIN_FILES=/data/t_*.bin SPEEDRUN_VAL_FILES=/data/v_*.bin -- "$r1" "$r3"
((rc == 0)) || fail "identical logs gave status $rc: $(cat "$tmp/same.txt")"
grep -q '^record_1: deterministic: 12 train and 4 val losses identical over 2 runs' "$tmp/same.txt" ||
  fail "no verdict for record_1: $(cat "$tmp/same.txt")"
grep -q '^record_3: deterministic' "$tmp/same.txt" || fail "no verdict for record_3: $(cat "$tmp/same.txt")"
calls=$tmp/same/state/calls
grep -q '^record_1: kernels: 2 reductions match the CPU sums, attention at 1 head size(s) (64) matches the CPU attention; all repeat bit for bit' "$tmp/same.txt" ||
  fail "no kernel verdict for record_1: $(cat "$tmp/same.txt")"
grep -q '^record_3: timing: encoder_backward 20.0 us' "$tmp/same.txt" || fail "timing not relayed: $(cat "$tmp/same.txt")"
grep -q "^nvcc .*arch=compute_90,code=sm_90 -I$r3 -I$r3/include $root/tests/records/template_kernels.cu" "$calls" ||
  fail "the kernel check was not built for sm_90 against record_3: $(grep '^nvcc' "$calls")"
[[ $(grep -c -- '--train /data/t_\*.bin --val /data/v_\*.bin' "$calls") == 4 ]] ||
  fail "the trainer was not run 4 times on SPEEDRUN_TRAIN_FILES/SPEEDRUN_VAL_FILES: $(cat "$calls")"
# run.sh's mini settings, the short schedule: every rate of the mini line as it is (--muon-lr only
# where the line has muon_lr: record 3), the warmdown at its share of the 12 steps.
grep -q -- '--batch 32 --seq 1024 --grad-accum 1 --steps 12 --warmup 13 --lr 1.5e-3 --val-every 4 --val-tokens 1048576 --summary' "$calls" ||
  fail "record_1's trainer arguments: $(head -1 "$calls")"
grep -q -- '--lr 1.8e-3 --muon-lr 0.018 --val-every 4 --val-tokens 1048576 --warmdown 3 --summary' "$calls" ||
  fail "record_3's trainer arguments: $(tail -1 "$calls")"
[[ $(grep -c -- '--muon-lr' "$calls") == 2 ]] || fail "--muon-lr given to record_1: $(cat "$calls")"
grep -q 'synthetic' "$calls" && fail "a synthetic corpus was written although SPEEDRUN_TRAIN_FILES was set"
[[ -f $tmp/same/work/logs/losses_record_3_run2.txt ]] || fail "no per-run loss list in WORK_DIR/logs"
grep -q 'train_time' "$tmp/same/work/logs/losses_record_3_run2.txt" && fail "timings were not stripped"
# Under the device tool the logs come back as one archive in $OUT, with every run's losses and both kernel logs.
packed=$(tar -tzf "$tmp/same/out/determinism.tar.gz" 2> /dev/null | sed 's|^\./||' | sort | tr '\n' ' ')
for f in kernels_record_1.log kernels_record_3.log losses_record_1_run1.txt losses_record_3_run2.txt; do
  [[ " $packed " == *" $f "* ]] || fail "$f is not in \$OUT/determinism.tar.gz: $packed"
done
[[ $(ls -A "$tmp/same/out") == determinism.tar.gz ]] || fail "\$OUT holds more than the archive: $(ls -A "$tmp/same/out")"

# One train loss differs by 1e-4 in run 2: status 1, the verdict names the step.
check train FAKE_MODE=train SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 1)) || fail "a differing train loss gave status $rc: $(cat "$tmp/train.txt")"
grep -q '^record_1: NOT deterministic: DIFFERS: run 1: step:7/12 train_loss:5.8930;run 2: step:7/12 train_loss:5.8931' "$tmp/train.txt" ||
  fail "the verdict does not show step 7's two losses: $(cat "$tmp/train.txt")"

# Step lines equal, the summary's final_val_loss differs in the 6th decimal: status 1.
check summary FAKE_MODE=summary SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 1)) || fail "a differing summary loss gave status $rc: $(cat "$tmp/summary.txt")"
grep -q 'NOT deterministic.*final_val_loss": 4.812346' "$tmp/summary.txt" || fail "summary verdict: $(cat "$tmp/summary.txt")"

# The second run crashes: status 2, not a verdict of determinism.
check crash FAKE_MODE=crash SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 2)) || fail "a crashed run gave status $rc: $(cat "$tmp/crash.txt")"
grep -q '^record_1: run 2 FAILED' "$tmp/crash.txt" || fail "crash verdict: $(cat "$tmp/crash.txt")"
grep -q 'deterministic' "$tmp/crash.txt" && fail "a crashed pair was judged: $(cat "$tmp/crash.txt")"

# A kernel off its CPU sums: status 1 with the kernel's line; the training runs still run.
check wrong FAKE_KERNELS=wrong SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 1)) || fail "a wrong kernel gave status $rc: $(cat "$tmp/wrong.txt")"
grep -q '^  layernorm_backward dbias: FAILED' "$tmp/wrong.txt" || fail "the failing kernel is not named: $(cat "$tmp/wrong.txt")"
grep -q '^record_1: deterministic' "$tmp/wrong.txt" || fail "the training runs were not judged: $(cat "$tmp/wrong.txt")"

# The kernel check does not build, or crashes: status 2.
for mode in nobuild crash; do
  check "k$mode" FAKE_KERNELS=$mode SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
  ((rc == 2)) || fail "FAKE_KERNELS=$mode gave status $rc: $(cat "$tmp/k$mode.txt")"
  grep -q -E '^record_1: kernel check (BUILD FAILED|CRASHED)' "$tmp/k$mode.txt" || fail "$mode verdict: $(cat "$tmp/k$mode.txt")"
done

# KERNELS=0 skips the kernel check.
check nokernels KERNELS=0 SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 0)) || fail "KERNELS=0 gave status $rc: $(cat "$tmp/nokernels.txt")"
grep -q '^nvcc' "$tmp/nokernels/state/calls" && fail "KERNELS=0 still built the kernel check"

# An OUT that cannot be written: the verdicts stand, and the error names OUT and where the logs are.
check badout KERNELS=0 OUT=/dev/null/out SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 0)) || fail "an unwritable OUT changed the status to $rc: $(cat "$tmp/badout.txt")"
grep -q "cannot write /dev/null/out/determinism.tar.gz; the logs stay in $tmp/badout/work/logs (fix: point OUT" "$tmp/badout.txt" ||
  fail "no clear error for an unwritable OUT: $(cat "$tmp/badout.txt")"

# No corpus named: the mini bundle is unpacked as device-calibrate does and its shards are used.
mkdir -p "$tmp/bundle" && : > "$tmp/bundle/mini_train_000000.bin" && : > "$tmp/bundle/mini_val_000000.bin"
tar -C "$tmp/bundle" -cJf "$tmp/mini-bundle.tar.xz" . || fail "cannot make a test bundle"
check bundle MINI_BUNDLE="$tmp/mini-bundle.tar.xz" -- "$r1"
((rc == 0)) || fail "the bundle run gave status $rc: $(cat "$tmp/bundle.txt")"
work=$tmp/bundle/work
[[ -f $work/mini/mini_train_000000.bin ]] || fail "the bundle was not unpacked into WORK_DIR/mini"
grep -q -- "--train $work/mini/mini_train_\*.bin --val $work/mini/mini_val_\*.bin" "$tmp/bundle/state/calls" ||
  fail "the trainer was not pointed at the bundle's shards: $(cat "$tmp/bundle/state/calls")"

# Neither corpus nor bundle: the trainer writes a synthetic corpus first and trains on it.
check synthetic MINI_BUNDLE="$tmp/absent.tar.xz" -- "$r1"
((rc == 0)) || fail "the synthetic run gave status $rc: $(cat "$tmp/synthetic.txt")"
grep -q '^synthetic ' "$tmp/synthetic/state/calls" || fail "no --write-synthetic call: $(cat "$tmp/synthetic/state/calls")"
grep -q -- '--train .*/synthetic_record_1/synthetic_train_\*.bin' "$tmp/synthetic/state/calls" ||
  fail "not trained on the synthetic shards: $(cat "$tmp/synthetic/state/calls")"

# No GPU: skipped (77) before any build or run.
check nogpu FAKE_GPUS=0 -- "$r1"
((rc == 77)) || fail "without a GPU the status was $rc: $(cat "$tmp/nogpu.txt")"
[[ -f $tmp/nogpu/state/calls ]] && fail "the trainer ran without a GPU"

# A mini line with rates for several groups and a momentum warmup (records 8 on): each rate as
# its flag, the warmdown and the momentum warmup at their shares of the short schedule.
mkdir -p "$tmp/record_x"
printf '%s\n' 'case $track in' '  mini)' \
  '    global_batch=32 steps=85 warmup=0 warmdown=24 momentum_warmup=13 val_every=25 embed_lr=0.3 head_lr=0.002 scalar_lr=0.02 muon_lr=0.02 ;;' \
  'esac' > "$tmp/record_x/run.sh"
: > "$tmp/record_x/build.sh"
check groups KERNELS=0 SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$tmp/record_x"
((rc == 0)) || fail "a mini line of several rates gave status $rc: $(cat "$tmp/groups.txt")"
grep -q -- '--steps 12 --warmup 0 --embed-lr 0.3 --head-lr 0.002 --scalar-lr 0.02 --muon-lr 0.02 --val-every 4 --val-tokens 1048576 --warmdown 3 --momentum-warmup 2 --summary' \
  "$tmp/groups/state/calls" || fail "the rates and shares of a several-group mini line: $(head -1 "$tmp/groups/state/calls")"

# The gradient check (a stand-in): its tensor count when it passes; its FAILED lines and
# status 1 when a gradient is off; status 2 when it crashes.
cat > "$tmp/bin/fake-gradients" << 'EOF'
#!/usr/bin/env bash
echo "template-gradients: 4 layers, width 64, 4 heads, 4 x 32 tokens; loss 4.6"
echo "tensor         values         g . u    difference  rel. off"
echo "wte              8192  1.000000e-02  1.010000e-02      1.0%"
case ${FAKE_GRADIENTS:-pass} in
  pass) echo "qkvw            49152  2.000000e-02  2.010000e-02      0.5%" ;;
  wrong) echo "value_mix           4  3.000000e-03  9.000000e-03    200.0%  FAILED"; exit 1 ;;
  crash) echo "[CUDA error] stand-in" >&2; exit 1 ;;
esac
EOF
chmod +x "$tmp/bin/fake-gradients"
check gpass GRADIENT_CHECK="$tmp/bin/fake-gradients" SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 0)) || fail "a passing gradient check gave status $rc: $(cat "$tmp/gpass.txt")"
grep -q '^record_1: gradients: 2 tensors match their finite differences' "$tmp/gpass.txt" ||
  fail "no gradient verdict: $(cat "$tmp/gpass.txt")"
check gwrong GRADIENT_CHECK="$tmp/bin/fake-gradients" FAKE_GRADIENTS=wrong SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 1)) || fail "a wrong gradient gave status $rc: $(cat "$tmp/gwrong.txt")"
grep -q '^  value_mix .*FAILED' "$tmp/gwrong.txt" || fail "the wrong tensor is not named: $(cat "$tmp/gwrong.txt")"
check gcrash GRADIENT_CHECK="$tmp/bin/fake-gradients" FAKE_GRADIENTS=crash SPEEDRUN_TRAIN_FILES=/d/t SPEEDRUN_VAL_FILES=/d/v -- "$r1"
((rc == 2)) || fail "a crashed gradient check gave status $rc: $(cat "$tmp/gcrash.txt")"
grep -q '^record_1: gradient check CRASHED' "$tmp/gcrash.txt" || fail "crash verdict: $(cat "$tmp/gcrash.txt")"

# Refusals: a bad STEPS, a folder that is no template.
check badsteps STEPS=ten -- "$r1"
((rc == 2)) && grep -q 'STEPS' "$tmp/badsteps.txt" || fail "STEPS=ten: status $rc: $(cat "$tmp/badsteps.txt")"
check notemplate -- "$tmp"
((rc == 2)) && grep -q 'not a record template' "$tmp/notemplate.txt" || fail "a non-template folder: status $rc: $(cat "$tmp/notemplate.txt")"

((failures == 0)) && echo "check-determinism: all checks passed"
exit $((failures > 0))
