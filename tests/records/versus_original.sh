#!/usr/bin/env bash
# bench/versus_original.py with stand-ins for both trainers, torchrun and nvidia-smi: the table's
# step times (ours from cumulative train_time, record 1's original from its per-step ms), the
# ratio, MFU, the validation loss at the last common step (record 1's original prints "val loss X"
# after the step), a relative --upstream (the runs start in the output folder), and the refusal of
# a missing plan.
set -uo pipefail
root=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for r in 1 2; do
  mkdir -p "$tmp/t/record_$r/build"
  cp "$root/workspace_templates/nanogpt_speedrun/record_$r/run.sh" "$tmp/t/record_$r/"
  # ours: 30 steps of 40 ms (record 1) or 50 ms (record 2), steps 1-10 untimed, validation at 0, 20, 30
  cat > "$tmp/t/record_$r/build/train_gpt2" <<SH
#!/usr/bin/env bash
echo "model: 12 layers, 12 heads, width 768, vocab 50257 (padded 50304), 124000000 parameters"
echo "batch: 32 x 1024 tokens x 1 micro-steps x 1 GPUs (NVIDIA H100 80GB HBM3) = 32768 tokens per step; 32 val batches"
t=0
for k in \$(seq 1 30); do
  ((k > 10)) && t=\$((t + $((30 + 10 * r))))
  echo "step:\$k/30 train_loss:5.0 train_time:\${t}ms step_avg:1.0ms"
  ((k % 20 == 0 || k == 30)) && echo "step:\$k/30 val_loss:4.$r\$k train_time:\${t}ms step_avg:1.0ms"
done
exit 0
SH
  chmod +x "$tmp/t/record_$r/build/train_gpt2"
done
mkdir -p "$tmp/up"
# the originals: record 1 prints per-step ms (80 ms), record 2 cumulative train_time (100 ms a step)
cat > "$tmp/up/record_1.py" <<'PY'
for k in range(1, 31):
    ms = 6480.0 if k == 21 else 80.0  # the step after a validation times the validation too
    print(f"step {k:4d}/30 | train loss 5.000000 | norm 1.0000 | lr 1.50e-03 | ({ms:.2f} ms | 409600 tok/s)")
    if k in (20, 30): print(f"val loss 4.5{k}0000123")  # after k steps, as the original prints it
PY
cat > "$tmp/up/record_2.py" <<'PY'
t = 0
for k in range(1, 31):
    if k > 10: t += 100
    print(f"step:{k}/30 train_loss:5.0000 train_time:{t}ms step_avg:1.00ms")
    if k in (20, 30): print(f"step:{k}/30 val_loss:4.6{k} train_time:{t}ms step_avg:1.00ms")
PY
cat > "$tmp/up/plan.json" <<'JSON'
{"steps": 30, "val_every": 10, "val_tokens": 32768,
 "records": {"1": {"ours": ["--steps", "30"], "original_fields": {}}, "2": {"ours": ["--steps", "30"], "original_fields": {}}}}
JSON
printf '#!/bin/sh\nsleep 0.05; echo 1234\n' > "$tmp/smi"; chmod +x "$tmp/smi"
out=$(VERSUS_TEMPLATES=$tmp/t VERSUS_NO_BUILD=1 VERSUS_TORCHRUN=python3 VERSUS_NVIDIA_SMI=$tmp/smi \
      bash -c 'cd "$1" && python3 "$2/bench/versus_original.py" run --upstream up --train x --val y --out out' _ "$tmp" "$root" 2>&1)
rc=$?
echo "$out"
((rc == 0)) || fail "exit status $rc"
row() { echo "$out" | grep -E "^ *$1 $2 "; }
row 1 ours | grep -q ' 40.00 ' || fail "record 1 ours: median 40 ms"
row 1 original | grep -qE ' 80.00 +80.00 ' || fail "record 1 original: 80 ms from its per-step lines (median and mean; the step after a validation left out)"
row 1 original | grep -q ' 2.000$' || fail "record 1 ratio 2.000"
row 2 ours | grep -q ' 50.00 ' || fail "record 2 ours: 50 ms"
row 2 original | grep -q ' 2.000$' || fail "record 2 ratio 100/50 = 2.000"
row 1 ours | grep -q '4.1300@30' || fail "record 1 ours: validation at the last common step 30"
row 1 original | grep -q '4.5300@30' || fail "record 1 original: its 'val loss' line after step 30"
row 2 original | grep -q '4.6300@30' || fail "record 2 original: validation at step 30"
row 1 ours | grep -q '%' || fail "MFU printed for a named H100"
row 1 ours | grep -q ' 66.3% ' || fail "MFU of 819,200 tok/s at 6 x 124M + 6 x 12 x 768 x 1024 FLOPs a token on 989.4 TFLOP/s"
echo "$out" | grep -q 'card: NVIDIA H100 80GB HBM3' || fail "card named"
[[ -f $tmp/out/table.txt && -f $tmp/out/record_2_original.log ]] || fail "table and logs written"
# a missing plan is refused with the fix
err=$(python3 "$root/bench/versus_original.py" run --upstream "$tmp/none" --train x --val y --out "$tmp/o2" 2>&1)
[[ $? == 2 && $err == *"plan.json"*"prepare"* ]] || fail "missing plan.json: $err"
echo "PASS"
