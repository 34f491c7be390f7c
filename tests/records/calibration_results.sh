#!/usr/bin/env bash
# scripts/records/calibration-results on synthetic device-calibrate logs in a temp folder: the
# time to the target, the card from gpu.txt, stop-target runs, and the logs it must refuse.
#   tests/records/calibration_results.sh SOURCE_ROOT
set -u
script=$1/scripts/records/calibration-results
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
card="NVIDIA H100 80GB HBM3"
# the records whose template exists: a main calibration needs runs of each
records=$("$1/scripts/records/record-numbers")
later=$(for r in $records; do ((r > 5)) && echo "$r"; done | wc -l)  # each gets three runs like record 5's

# run_log DIR NAME STEP_MS FLOOR RATE STOP [SCHEDULE]: validation every 25 steps with
# val_loss = FLOOR + 7.8 exp(-RATE step), ending at the first validation <= STOP (0: never);
# with CODE set, the header names that code hash, as device-calibrate's does.
run_log() {
  local dir=$1 name=$2 step_ms=$3 floor=$4 rate=$5 stop=$6 schedule=${7:-2000}
  mkdir -p "$dir"
  {
    echo "# device-calibrate: $name from /x/$name on GPU 1 ($card), stop target $stop, time limit 420 s${CODE:+, code $CODE}"
    echo "batch: 32 x 1024 tokens x 1 micro-steps x 1 GPUs ($card) = 32768 tokens per step; 32 val batches"
    awk -v ms="$step_ms" -v f="$floor" -v k="$rate" -v stop="$stop" -v n="$schedule" 'BEGIN {
      for (s = 0; s <= n; s += 25) {
        loss = f + 7.8 * exp(-k * s)
        if (s > 0) printf "step:%d/%d train_loss:%.4f train_time:%dms step_avg:%.2fms\n", s, n, loss, s * ms, ms
        printf "step:%d/%d val_loss:%.4f train_time:%dms step_avg:%.2fms\n", s, n, loss, s * ms, (s ? ms : 0)
        if (stop > 0 && loss <= stop) break
      }
    }'
  } > "$dir/train_$name.log"
}
calibration_files() {  # calibration_files DIR: three runs of each record, records 3-5 stopped at 3.6
  local d=$1
  mkdir -p "$d"
  printf 'index, name, memory.total [MiB], clocks.max.sm [MHz]\n' > "$d/gpu.txt"
  for i in 0 1 2 3; do echo "$i, $card, 81559 MiB, 1980 MHz" >> "$d/gpu.txt"; done
  printf 'PLAN=record_1,record_1,record_1 record_2,record_2,record_2 record_3@3.6,record_4@3.6,record_5@3.6\ndate=2026-11-27\n' > "$d/plan.txt"
  for i in 1 2 3; do
    run_log "$d" "record_1_run$i" $((68 + 2 * i)) 3.9 0.002 0
    run_log "$d" "record_2_run$i" $((70 + 2 * i)) 3.7 0.003 0
    run_log "$d" "record_3_run$i" 80 2.8 0.010 3.6
    run_log "$d" "record_4_run$i" 78 2.8 0.012 3.6
    run_log "$d" "oracle_5_run$i" 78 2.8 0.014 3.6
    for r in $records; do ((r > 5)) && run_log "$d" "record_${r}_run$i" $((84 - 2 * r)) 2.8 0.015 3.6; done
  done
}
json() {  # json FILE PYTHON-EXPRESSION-ON-d
  python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"
}

logs=$tmp/logs; calibration_files "$logs"
out=$tmp/tree
"$script" --logs "$logs" --out-root "$out" 4.2 > "$tmp/ok.txt" 2>&1 || fail "a valid calibration was refused: $(cat "$tmp/ok.txt")"
r1=$out/workspace_templates/nanogpt_speedrun/record_1/results.json
r3=$out/workspace_templates/nanogpt_speedrun/record_3/results.json
if [[ -f $r1 && -f $r3 ]]; then
  # record 1 first reaches 4.2 at step 1650 (3.9 + 7.8 exp(-3.3) = 4.1877); step times 70, 72, 74 ms
  [[ $(json "$r1" 'd["tracks"]["mini"]["train_time_ms"]') == 118800 ]] ||
    fail "record 1's median time: $(json "$r1" 'd["tracks"]["mini"]["train_time_ms"]'), expected 1650 x 72 = 118800"
  [[ $(json "$r1" '[r["n_steps"] for r in d["tracks"]["mini"]["runs"]]') == "[1650, 1650, 1650]" ]] ||
    fail "record 1's steps to the target: $(json "$r1" '[r["n_steps"] for r in d["tracks"]["mini"]["runs"]]')"
  [[ $(json "$r1" 'd["tracks"]["mini"]["card"]') == "$card (one GPU of a 4-GPU machine, 3 runs side by side)" ]] ||
    fail "card: $(json "$r1" 'd["tracks"]["mini"]["card"]')"
  [[ $(json "$r1" 'all(r["full_schedule"]["n_steps"] == 2000 for r in d["tracks"]["mini"]["runs"])') == True ]] ||
    fail "record 1's full runs lack full_schedule"
  [[ $(json "$r3" 'any("full_schedule" in r for r in d["tracks"]["mini"]["runs"])') == False ]] ||
    fail "a run stopped at 3.6 claims a full schedule"
  [[ $(json "$r3" '[r["stop_target"] for r in d["tracks"]["mini"]["runs"]]') == "[3.6, 3.6, 3.6]" ]] ||
    fail "record 3's stop targets: $(json "$r3" '[r.get("stop_target") for r in d["tracks"]["mini"]["runs"]]')"
  json "$r1" 'd["tracks"]["mini"]["note"]' | grep -q '2000-step mini schedule' || fail "the note does not name the 2000-step schedule"
  [[ $(json "$r1" 'd["tracks"]["mini"]["n_steps_schedule"], d["tracks"]["mini"]["target_val_loss"]') == "2000 4.2" ]] ||
    fail "schedule or target not recorded"
  r5=$out/workspace_templates/nanogpt_speedrun/record_5/results.json
  [[ $(json "$r5" 'd["tracks"]["mini"]["runs"][0]["code"]') == "record_4 + level-0 diff (byte-identical to record_5)" ]] ||
    fail "oracle runs are not marked as the patched tree"
  # each later record's runs are its own (two-digit records too: record_10's logs are not record 1's)
  for r in $records; do
    ((r > 5)) || continue
    rr=$out/workspace_templates/nanogpt_speedrun/record_$r/results.json
    [[ $(json "$rr" '" ".join(r["log"].rsplit("/", 1)[-1] for r in d["tracks"]["mini"]["runs"])') == \
      "train_record_${r}_run1.log train_record_${r}_run2.log train_record_${r}_run3.log" ]] ||
      fail "record $r's runs: $(json "$rr" '[r["log"] for r in d["tracks"]["mini"]["runs"]]')"
  done
else
  fail "no results.json under --out-root: $(cat "$tmp/ok.txt")"
fi
grep -q '^| 1 | 2000 | 118,800 (115,500, 118,800, 122,100) | 1650/1650/1650 |' "$tmp/ok.txt" || fail "markdown table row for record 1: $(cat "$tmp/ok.txt")"

# Runs of a template with changed settings (device-calibrate's record_R:key=value) are left out,
# even on another schedule, and named on stderr.
changed=$tmp/changed; calibration_files "$changed"
run_log "$changed" "record_2~lr1.2e-3~steps975_run1" 60 3.0 0.01 0 975
"$script" --logs "$changed" --out-root "$tmp/changed-out" 4.2 > "$tmp/changed.txt" 2>&1 ||
  fail "a calibration with a changed-settings run beside it was refused: $(cat "$tmp/changed.txt")"
grep -q 'left out 1 run(s) with changed settings (record_2~lr1.2e-3~steps975)' "$tmp/changed.txt" ||
  fail "the left-out run is not named: $(cat "$tmp/changed.txt")"
got=$(json "$tmp/changed-out/workspace_templates/nanogpt_speedrun/record_2/results.json" 'd["tracks"]["mini"]["n_runs"], d["tracks"]["mini"]["train_time_ms"]')
want=$(json "$out/workspace_templates/nanogpt_speedrun/record_2/results.json" 'd["tracks"]["mini"]["n_runs"], d["tracks"]["mini"]["train_time_ms"]')
[[ $got == "$want" ]] ||
  fail "record 2's calibration changed with the changed-settings run beside it: $got against $want"

# Two device calls in subfolders of --logs count together; two kinds of card are refused.
split=$tmp/split; mkdir -p "$split/b"; calibration_files "$split/a"
mv "$split"/a/train_*_run3.log "$split/b/"; cp "$split/a/gpu.txt" "$split/a/plan.txt" "$split/b/"
"$script" --logs "$split" --out-root "$tmp/split-out" 4.2 > "$tmp/split.txt" 2>&1 || fail "split calibration refused: $(cat "$tmp/split.txt")"
cmp -s "$tmp/split-out/workspace_templates/nanogpt_speedrun/record_1/results.json" "$r1" &&
  fail "the split calibration's results.json does not name its logs' own paths"
[[ $(json "$tmp/split-out/workspace_templates/nanogpt_speedrun/record_1/results.json" 'd["tracks"]["mini"]["train_time_ms"], d["tracks"]["mini"]["n_runs"]') == "118800 3" ]] ||
  fail "the split calibration differs: $(cat "$tmp/split.txt")"
sed -i 's/H100 80GB HBM3/H200/' "$split/b/gpu.txt"
"$script" --logs "$split" --dry 4.2 > "$tmp/cards.txt" 2>&1 && fail "runs on two kinds of card were accepted"
grep -q 'mixes runs on different machines' "$tmp/cards.txt" || fail "two-card text: $(cat "$tmp/cards.txt")"

# --other-card adds a calibration on another GPU model beside the main one, once per model.
other=$tmp/other; calibration_files "$other"; sed -i "s/$card/NVIDIA H200/" "$other/gpu.txt"
cp -r "$out" "$tmp/other-out"
"$script" --logs "$other" --out-root "$tmp/other-out" --other-card 4.2 > "$tmp/other.txt" 2>&1 ||
  fail "--other-card refused: $(cat "$tmp/other.txt")"
"$script" --logs "$other" --out-root "$tmp/other-out" --other-card 4.2 > "$tmp/other.txt" 2>&1 ||
  fail "--other-card refused a second time: $(cat "$tmp/other.txt")"
o1=$tmp/other-out/workspace_templates/nanogpt_speedrun/record_1/results.json
[[ $(json "$o1" 'd["tracks"]["mini"]["card"].split(" (")[0], d["tracks"]["mini"]["train_time_ms"], [o["card"].split(" (")[0] for o in d["tracks"]["mini"]["other_cards"]], d["tracks"]["mini"]["other_cards"][0]["train_time_ms"]') == "$card 118800 ['NVIDIA H200'] 118800" ]] ||
  fail "--other-card result: $(json "$o1" 'd["tracks"]["mini"]')"
"$script" --logs "$logs" --out-root "$tmp/other-out" --other-card 4.2 > "$tmp/same.txt" 2>&1 &&
  fail "--other-card with the main calibration's own card was accepted"
grep -q "main calibration is already on $card" "$tmp/same.txt" || fail "same-card text: $(cat "$tmp/same.txt")"
"$script" --logs "$other" --out-root "$tmp/other-out" --other-card 4.3 > "$tmp/target.txt" 2>&1 &&
  fail "--other-card at another target was accepted"
grep -q "is at target 4.2, not 4.3" "$tmp/target.txt" || fail "other-target text: $(cat "$tmp/target.txt")"
"$script" --logs "$other" --out-root "$tmp/nothing" --other-card 4.2 > "$tmp/nomain.txt" 2>&1 &&
  fail "--other-card without a main calibration was accepted"
grep -q "has no main mini calibration" "$tmp/nomain.txt" || fail "no-main text: $(cat "$tmp/nomain.txt")"

# Rewriting the main calibration keeps the other cards' entries at its target ...
"$script" --logs "$logs" --out-root "$tmp/other-out" 4.2 > "$tmp/remain.txt" 2>&1 || fail "main rewrite refused: $(cat "$tmp/remain.txt")"
[[ $(json "$o1" '[o["card"].split(" (")[0] for o in d["tracks"]["mini"].get("other_cards", [])]') == "['NVIDIA H200']" ]] ||
  fail "rewriting the main calibration lost the H200 entry: $(cat "$tmp/remain.txt")"
# ... drops (and names) those at another target, and those of its own card's model.
"$script" --logs "$logs" --out-root "$tmp/other-out" 4.5 > "$tmp/retarget.txt" 2>&1 || fail "main rewrite at 4.5 refused: $(cat "$tmp/retarget.txt")"
[[ $(json "$o1" '"other_cards" in d["tracks"]["mini"]') == False ]] || fail "an H200 entry at target 4.2 survived a main calibration at 4.5"
grep -q 'record 1: dropped the NVIDIA H200 entry of other_cards (target 4.2, not 4.5)' "$tmp/retarget.txt" ||
  fail "the dropped entry is not named: $(cat "$tmp/retarget.txt")"
"$script" --logs "$other" --out-root "$tmp/other-out" --other-card 4.5 > /dev/null 2>&1 || fail "--other-card at 4.5 refused"
"$script" --logs "$other" --out-root "$tmp/other-out" 4.5 > "$tmp/swap.txt" 2>&1 || fail "an H200 main calibration refused: $(cat "$tmp/swap.txt")"
[[ $(json "$o1" 'd["tracks"]["mini"]["card"].split(" (")[0], "other_cards" in d["tracks"]["mini"]') == "NVIDIA H200 False" ]] ||
  fail "an H200 main calibration kept an H200 entry in other_cards: $(json "$o1" 'd["tracks"]["mini"]')"
grep -q 'dropped the NVIDIA H200 entry of other_cards (this calibration is on that model)' "$tmp/swap.txt" ||
  fail "the same-model entry is not named: $(cat "$tmp/swap.txt")"

# --other-card with no runs of a record (its code changed since) leaves that record's file alone.
cp -r "$out" "$tmp/partial-out"; partial=$tmp/partial; calibration_files "$partial"; sed -i "s/$card/NVIDIA H200/" "$partial/gpu.txt"
rm "$partial"/train_oracle_5_run*.log
p5=$tmp/partial-out/workspace_templates/nanogpt_speedrun/record_5/results.json
before=$(cat "$p5")
"$script" --logs "$partial" --out-root "$tmp/partial-out" --other-card 4.2 > "$tmp/partial.txt" 2>&1 ||
  fail "--other-card without record 5's runs refused: $(cat "$tmp/partial.txt")"
[[ $(cat "$p5") == "$before" ]] || fail "--other-card changed record 5, which had no runs in its logs"
grep -q 'has no run of record(s) \[5\]; their results.json keep their other cards' "$tmp/partial.txt" ||
  fail "the record without runs is not named: $(cat "$tmp/partial.txt")"
[[ $(json "$tmp/partial-out/workspace_templates/nanogpt_speedrun/record_4/results.json" '[o["card"].split(" (")[0] for o in d["tracks"]["mini"]["other_cards"]]') == "['NVIDIA H200']" ]] ||
  fail "--other-card without record 5's runs did not write record 4's entry"
"$script" --logs "$partial" --out-root "$tmp/partial-main" 4.2 > "$tmp/partial-main.txt" 2>&1 &&
  fail "a main calibration without record 5's runs was accepted"
grep -q 'has no run of record(s) \[5\]' "$tmp/partial-main.txt" || fail "missing-record text: $(cat "$tmp/partial-main.txt")"

# Runs must have trained the code their template has now (device-calibrate logs its hash).
hashed=$tmp/hashed; mkdir -p "$hashed"; coded=$tmp/coded-out
for r in $records; do
  mkdir -p "$coded/workspace_templates/nanogpt_speedrun/record_$r"
  echo "echo record $r" > "$coded/workspace_templates/nanogpt_speedrun/record_$r/run.sh"
done
calibration_files "$hashed"
for r in 2 3; do  # records 2 and 3 with their code hash (record 3's oracle runs of record 2 x 1 too)
  code=$("$1/scripts/records/template-hash" "$coded/workspace_templates/nanogpt_speedrun/record_$r")
  for i in 1 2 3; do CODE=$code run_log "$hashed" "record_${r}_run$i" 80 2.8 0.010 3.6; done
done
"$script" --logs "$hashed" --out-root "$coded" 4.2 > "$tmp/coded.txt" 2>&1 || fail "runs of today's code were refused: $(cat "$tmp/coded.txt")"
grep -q "$((9 + 3 * later)) run(s) predate the code hash" "$tmp/coded.txt" || fail "the runs without a hash are not counted: $(cat "$tmp/coded.txt")"
echo "// changed" >> "$coded/workspace_templates/nanogpt_speedrun/record_3/kernels.cu"
"$script" --logs "$hashed" --out-root "$coded" 4.2 > "$tmp/stale.txt" 2>&1 && fail "runs of record 3's old code were accepted"
grep -q "3 run(s) of record 3 trained other code" "$tmp/stale.txt" || fail "stale-code text: $(cat "$tmp/stale.txt")"
grep -q '^fix: calibrate record 3 again, or move those logs out of' "$tmp/stale.txt" || fail "stale-code fix: $(cat "$tmp/stale.txt")"
grep -q 'record 2 trained other code' "$tmp/stale.txt" && fail "record 2, unchanged, was named: $(cat "$tmp/stale.txt")"
"$script" --logs "$hashed" --out-root "$coded" --scan 4.2 > "$tmp/stale-scan.txt" 2>&1 || fail "--scan stopped at stale code"
grep -q '^warning: 3 run(s) of record 3 trained other code' "$tmp/stale-scan.txt" || fail "--scan does not warn: $(cat "$tmp/stale-scan.txt")"

# same-code.txt declares a logged hash the same training code as today's template (and nothing else).
old3=$code  # record 3's hash before the change above
new3=$("$1/scripts/records/template-hash" "$coded/workspace_templates/nanogpt_speedrun/record_3")
echo "$old3 $new3 only a comment changed" > "$hashed/same-code.txt"
"$script" --logs "$hashed" --out-root "$coded" 4.2 > "$tmp/same.txt" 2>&1 || fail "same-code.txt was not honoured: $(cat "$tmp/same.txt")"
grep -q "record 3: runs of code $old3 count as today's $new3 (same-code.txt: only a comment changed)" "$tmp/same.txt" ||
  fail "same-code text: $(cat "$tmp/same.txt")"
echo "// changed again" >> "$coded/workspace_templates/nanogpt_speedrun/record_3/kernels.cu"
"$script" --logs "$hashed" --out-root "$coded" 4.2 > "$tmp/same2.txt" 2>&1 && fail "same-code.txt matched a later template"
echo "$old3 only-one-hash" > "$hashed/same-code.txt"
"$script" --logs "$hashed" --out-root "$coded" 4.2 > "$tmp/same3.txt" 2>&1 && fail "a malformed same-code.txt was accepted"
grep -q "same-code.txt:1: want 'LOGGED_HASH TEMPLATE_HASH reason'" "$tmp/same3.txt" || fail "malformed same-code text: $(cat "$tmp/same3.txt")"
rm "$hashed/same-code.txt"

# --dry prints and writes nothing.
"$script" --logs "$logs" --out-root "$tmp/dry" --dry 4.2 > "$tmp/dry.txt" 2>&1 || fail "--dry failed: $(cat "$tmp/dry.txt")"
[[ -e $tmp/dry ]] && fail "--dry wrote files"

# A target below a run's stop target is refused, naming the log and the fix.
# (record 4's runs stop at step 200 with 3.5076; record 3's at 250 with 3.4425, below the target)
"$script" --logs "$logs" --out-root "$tmp/low" 3.45 > "$tmp/low.txt" 2>&1 && fail "target 3.45 below the stop target 3.6 was accepted"
grep -q 'train_record_4_run1.log never reaches 3.45: it stopped at its stop target 3.6, last validation 3.5076 at step 200/2000' \
  "$tmp/low.txt" || fail "refusal text: $(cat "$tmp/low.txt")"
grep -q 'train_record_3_run1.log' "$tmp/low.txt" && fail "record 3, which reaches 3.45, was named: $(cat "$tmp/low.txt")"
grep -q '^fix: choose a target of at least 4.0429' "$tmp/low.txt" || fail "the refusal's fix: $(cat "$tmp/low.txt")"
[[ -e $tmp/low ]] && fail "a refused calibration wrote files"

# A full run that never gets there is refused too.
"$script" --logs "$logs" --out-root "$tmp/never" 3.8 > "$tmp/never.txt" 2>&1 && fail "target 3.8 that record 1 never reaches was accepted"
grep -q 'train_record_1_run1.log never reaches 3.8: its schedule ended' "$tmp/never.txt" || fail "refusal text: $(cat "$tmp/never.txt")"

# Runs of one record on two schedules are refused.
mixed=$tmp/mixed; mkdir -p "$mixed"; calibration_files "$mixed"
run_log "$mixed" record_1_run4 70 3.9 0.002 0 800
"$script" --logs "$mixed" --out-root "$tmp/mixed-out" 4.5 > "$tmp/mixed.txt" 2>&1 && fail "mixed schedules were accepted"
grep -q "record 1's runs mix schedules of \[800, 2000\]" "$tmp/mixed.txt" || fail "mixed-schedule text: $(cat "$tmp/mixed.txt")"

# Each record may have a schedule of its own: record 3's runs train 800 steps.
own=$tmp/own; calibration_files "$own"
for i in 1 2 3; do run_log "$own" "record_3_run$i" 80 2.8 0.010 0 800; done
"$script" --logs "$own" --out-root "$tmp/own-out" 4.2 > "$tmp/own.txt" 2>&1 || fail "per-record schedules were refused: $(cat "$tmp/own.txt")"
r3own=$tmp/own-out/workspace_templates/nanogpt_speedrun/record_3/results.json
[[ -f $r3own && $(json "$r3own" 'd["tracks"]["mini"]["n_steps_schedule"], all(r["full_schedule"]["n_steps"] == 800 for r in d["tracks"]["mini"]["runs"])') == "800 True" ]] ||
  fail "record 3's own 800-step schedule: $(cat "$tmp/own.txt")"
[[ $(json "$tmp/own-out/workspace_templates/nanogpt_speedrun/record_1/results.json" 'd["tracks"]["mini"]["n_steps_schedule"]') == 2000 ]] ||
  fail "record 1's schedule is not its own 2000 steps"
grep -q '^| 3 | 800 | ' "$tmp/own.txt" || fail "the table does not give record 3's schedule: $(cat "$tmp/own.txt")"

# --scan gives every record's median time to each candidate target.
"$script" --logs "$logs" --scan 4.5,4.2 > "$tmp/scan.txt" 2>&1 || fail "--scan failed: $(cat "$tmp/scan.txt")"
grep -q '^| 1 | .* | 118,800 (1650) |$' "$tmp/scan.txt" || fail "--scan row for record 1: $(cat "$tmp/scan.txt")"
grep -q 'not faster' "$tmp/scan.txt" && fail "--scan flags a record that is faster: $(cat "$tmp/scan.txt")"
slow=$tmp/slow; calibration_files "$slow"
for i in 1 2 3; do run_log "$slow" "oracle_5_run$i" 200 2.8 0.014 3.6; done  # 125 steps at 200 ms: 25 s > record 4's 11.7 s
"$script" --logs "$slow" --scan 4.2 > "$tmp/scan-slow.txt" 2>&1
grep -q 'target 4.2: record(s) \[5\] not faster than the record before' "$tmp/scan-slow.txt" ||
  fail "--scan does not flag a slower record 5: $(cat "$tmp/scan-slow.txt")"

# "at or below": a validation equal to the target counts (record 1's 4.1877 at step 1650).
"$script" --logs "$logs" --scan 4.1877 > "$tmp/equal.txt" 2>&1
grep -q '^| 1 | 118,800 (1650) |$' "$tmp/equal.txt" || fail "a validation equal to the target did not count: $(cat "$tmp/equal.txt")"
# ... and a crossing with no margin is flagged: noise could move it a validation later
grep -q 'target 4.1877: record(s) 1 (steps 1650, margin 0.000)' "$tmp/equal.txt" ||
  fail "--scan does not flag a crossing at the target itself: $(cat "$tmp/equal.txt")"
# 10.13 lies mid-way between validations of every record: nothing to flag
"$script" --logs "$logs" --scan 10.13 > "$tmp/clear.txt" 2>&1
grep -q 'cross at different validations' "$tmp/clear.txt" && fail "--scan flags clear crossings: $(cat "$tmp/clear.txt")"
# runs of one record crossing at different validations are flagged with their steps
split=$tmp/split; calibration_files "$split"
run_log "$split" record_2_run4 72 3.7 0.0025 0  # a slower-learning fourth run of record 2
"$script" --logs "$split" --scan 4.5 > "$tmp/split.txt" 2>&1
grep -qE 'target 4.5: record\(s\) .*2 \(steps [0-9]+/[0-9]+, margin' "$tmp/split.txt" ||
  fail "--scan does not flag record 2's runs crossing at different steps: $(cat "$tmp/split.txt")"

# the data hash: device-calibrate's data.txt names it; results.json carries it; folders on
# different data are refused; logs without one give results without one
hash_a=0123456789abcdef0123456789abcdef hash_b=fedcba9876543210fedcba9876543210
onedata=$tmp/onedata; calibration_files "$onedata"
echo "data hash $hash_a" > "$onedata/data.txt"
"$script" --logs "$onedata" --out-root "$tmp/onedata_tree" 4.2 > "$tmp/onedata.txt" 2>&1 ||
  fail "a calibration with a data hash was refused: $(cat "$tmp/onedata.txt")"
h=$tmp/onedata_tree/workspace_templates/nanogpt_speedrun/record_2/results.json
[[ -f $h && $(json "$h" 'd["tracks"]["mini"].get("data_hash")') == "$hash_a" ]] ||
  fail "results.json does not carry the logs' data hash: $(cat "$tmp/onedata.txt")"
[[ -f $r1 && $(json "$r1" 'd["tracks"]["mini"].get("data_hash")') == None ]] ||
  fail "logs without a data hash gave results with one"
twodata=$tmp/twodata; calibration_files "$twodata/a"; calibration_files "$twodata/b"
echo "data hash $hash_a" > "$twodata/a/data.txt"; echo "data hash $hash_b" > "$twodata/b/data.txt"
"$script" --logs "$twodata" --out-root "$tmp/twodata_tree" 4.2 > "$tmp/twodata.txt" 2>&1 &&
  fail "runs on two data hashes were accepted"
grep -q "mixes runs on different data: a: $hash_a, b: $hash_b" "$tmp/twodata.txt" ||
  fail "the refusal does not name both hashes: $(cat "$tmp/twodata.txt")"

# A step labelled no gain (tracks.mini.no_gain in record R+1's results.json) keeps its label through
# a new calibration, which names it instead of warning that the record is not faster.
labelled=$tmp/labelled-out; cp -r "$out" "$labelled"
l5=$labelled/workspace_templates/nanogpt_speedrun/record_5/results.json
python3 -c "import json, sys; p = sys.argv[1]; d = json.load(open(p)); d['tracks']['mini']['no_gain'] = 'the same code as record 4'; json.dump(d, open(p, 'w'))" "$l5"
"$script" --logs "$slow" --out-root "$labelled" 4.2 > "$tmp/labelled.txt" 2>&1 || fail "a labelled calibration was refused: $(cat "$tmp/labelled.txt")"
[[ $(json "$l5" 'd["tracks"]["mini"].get("no_gain"), "no_gain" in d["tracks"]["fineweb"]') == "the same code as record 4 False" ]] ||
  fail "the label did not survive: $(json "$l5" 'd["tracks"]')"
grep -q 'record 4 -> 5 (mini): labelled no gain: the same code as record 4' "$tmp/labelled.txt" || fail "label not named: $(cat "$tmp/labelled.txt")"
grep -q 'warning: record(s) \[5\] are not faster' "$tmp/labelled.txt" && fail "a labelled step was warned about: $(cat "$tmp/labelled.txt")"
"$script" --logs "$slow" --out-root "$out" --dry 4.2 2>&1 | grep -q 'warning: record(s) \[5\] are not faster' ||
  fail "an unlabelled slower record 5 gave no warning"

((failures == 0)) && echo "calibration-results: all checks passed"
exit $((failures > 0))
