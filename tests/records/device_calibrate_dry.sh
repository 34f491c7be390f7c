#!/usr/bin/env bash
# scripts/records/device-calibrate with DRY_RUN=1 (no GPU): which GPU, stop target and log name
# each run of a PLAN gets, and the plans it must refuse before any device time is spent.
#   tests/records/device_calibrate_dry.sh SOURCE_ROOT
set -u
script=$1/scripts/records/device-calibrate
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# calibrate NAME ENV...: a dry call with its own OUT and WORK_DIR; output in $tmp/NAME.txt
calibrate() {
  local name=$1; shift
  env DRY_RUN=1 OUT="$tmp/$name/out" WORK_DIR="$tmp/$name/work" "$@" "$script" > "$tmp/$name.txt" 2>&1
}
rows() { tail -n +2 "$tmp/$1/work/logs/runs.tsv" | cut -f1,2,3,5 | sort; }

# Two lanes on GPUs 1 and 2; lane 2 runs record_2 to the end, then record_3 stopped at 3.6.
calibrate lanes GPUS="1 2" ORACLES=0 PLAN="record_1 record_2,record_3@3.6"
rc=$?
((rc == 0)) || fail "the two-lane plan exited $rc: $(cat "$tmp/lanes.txt")"
expected=$'record_1_run1\trecord_1\t1\t0\nrecord_2_run1\trecord_2\t2\t0\nrecord_3_run1\trecord_3\t2\t3.6'
got=$(rows lanes)
[[ $got == "$expected" ]] || fail "runs.tsv rows (log, code, GPU, stop target): got"$'\n'"$got"$'\n'"expected"$'\n'"$expected"
logs=$tmp/lanes/work/logs
grep -q 'CUDA_VISIBLE_DEVICES=1 SPEEDRUN_TARGET_VAL_LOSS=0 SPEEDRUN_TRACK=mini' "$logs/train_record_1_run1.log" ||
  fail "record_1's trainer did not see GPU 1 and target 0: $(cat "$logs/train_record_1_run1.log")"
grep -q 'CUDA_VISIBLE_DEVICES=2 SPEEDRUN_TARGET_VAL_LOSS=3.6 SPEEDRUN_TRACK=mini' "$logs/train_record_3_run1.log" ||
  fail "record_3's trainer did not see GPU 2 and target 3.6: $(cat "$logs/train_record_3_run1.log")"
grep -q 'dir=.*/workspace_templates/nanogpt_speedrun/record_3 ' "$logs/train_record_3_run1.log" ||
  fail "record_3 did not run the workspace template: $(cat "$logs/train_record_3_run1.log")"
# A lane runs in order: record_2 before record_3 on GPU 2.
order=$(awk -F'\t' '$3 == 2 { printf "%s ", $1 }' "$logs/runs.tsv")
[[ $order == "record_2_run1 record_3_run1 " ]] || fail "lane 2 ran in the order '$order'"
ls "$logs"/build_oracle_* > /dev/null 2>&1 && fail "ORACLES=0 still built the oracle trees"
steps=$(( $("$1/scripts/records/record-numbers" | wc -l) - 1 ))
grep -c 'is identical to' "$tmp/lanes.txt" | grep -qx $steps || fail "the $steps patch-identity checks did not all pass: $(cat "$tmp/lanes.txt")"
# only the trees the plan trains are built
[[ $(cd "$logs" && ls build_*.log | tr '\n' ' ') == "build_record_1.log build_record_2.log build_record_3.log " ]] ||
  fail "built other trees than the plan's: $(cd "$logs" && ls build_*.log)"
tar -tzf "$tmp/lanes/out/calibration.tar.gz" | grep -q 'runs.tsv' || fail "calibration.tar.gz lacks runs.tsv"
grep -qx 'GPUS=1 2' "$logs/plan.txt" || fail "plan.txt does not record GPUS"

# The same record in two lanes gets distinct names; RUN_TAG goes in front of the run number.
calibrate twice GPUS="3 5" RUN_TAG=b PLAN="record_1@4.5 record_1,oracle_2"
rc=$?
((rc == 0)) || fail "the repeated-record plan exited $rc: $(cat "$tmp/twice.txt")"
expected=$'oracle_2b_run1\toracle_2\t5\t0\nrecord_1b_run1\trecord_1\t3\t4.5\nrecord_1b_run2\trecord_1\t5\t0'
got=$(rows twice)
[[ $got == "$expected" ]] || fail "repeated-record rows: got"$'\n'"$got"$'\n'"expected"$'\n'"$expected"
[[ -f $tmp/twice/work/logs/build_oracle_2.log ]] || fail "the oracle trees were not built by default"
grep -q "dir=$tmp/twice/work/oracle_2 " "$tmp/twice/work/logs/train_oracle_2b_run1.log" ||
  fail "oracle_2 did not run the patched tree in WORK_DIR"

# A record with changed mini settings runs a copy of its template with just those values changed.
calibrate settings GPUS="0 1" ORACLES=0 PLAN="record_2:lr=1.2e-3:steps=2000@3.7,record_2 record_3:muon_lr=0.03"
rc=$?
((rc == 0)) || fail "the settings plan exited $rc: $(cat "$tmp/settings.txt")"
expected=$'record_2_run1	record_2	0	0
record_2~lr1.2e-3~steps2000_run1	record_2~lr1.2e-3~steps2000	0	3.7
record_3~muon_lr0.03_run1	record_3~muon_lr0.03	1	0'
got=$(rows settings)
[[ $got == "$expected" ]] || fail "settings rows: got"$'\n'"$got"$'\n'"expected"$'\n'"$expected"
copy=$tmp/settings/work/variants/record_2~lr1.2e-3~steps2000
mini_of() { awk '/^ *mini\)/ { inside = 1 } inside && /global_batch=/ { print; exit }' "$1/run.sh"; }
template=$1/workspace_templates/nanogpt_speedrun
want=$(mini_of "$template/record_2" | sed 's/ steps=[^ ]*/ steps=2000/; s/ lr=[^ ;]*/ lr=1.2e-3/')
[[ $(mini_of "$copy") == "$want" ]] || fail "record_2's copy has the mini line '$(mini_of "$copy")', expected '$want'"
diff <(grep -v 'global_batch=32 ' "$copy/run.sh") <(grep -v 'global_batch=32 ' "$template/record_2/run.sh") > /dev/null ||
  fail "the copy of record_2 changed more than its mini settings line"
grep -q 'muon_lr=0.03 ;;' "$tmp/settings/work/variants/record_3~muon_lr0.03/run.sh" && \
  grep -q ' lr=1.8e-3 muon_lr=0.03 ;;' "$tmp/settings/work/variants/record_3~muon_lr0.03/run.sh" ||
  fail "muon_lr=0.03 was not set (or lr changed with it): $(mini_of "$tmp/settings/work/variants/record_3~muon_lr0.03")"
grep -q "dir=$copy " "$tmp/settings/work/logs/train_record_2~lr1.2e-3~steps2000_run1.log" ||
  fail "the run with changed settings did not run the copy"

calibrate settings_tag GPUS="0" ORACLES=0 RUN_TAG=b PLAN="record_2:lr=9e-4,record_2"
got=$(rows settings_tag | cut -f1 | tr '\n' ' ')
[[ $got == "record_2b_run1 record_2~lr9e-4_b_run1 " ]] || fail "RUN_TAG with changed settings: got '$got'"

# Runs are cut at DEADLINE_S (default 570 s from the start) and skipped when it is near.
calibrate limits GPUS="0 1" RUN_LIMIT_S=1000 PLAN="record_1 record_2"
grep -q 'time limit 5[67][0-9] s, code ' "$tmp/limits/work/logs/train_record_1_run1.log" ||
  fail "RUN_LIMIT_S=1000 was not cut to the 570 s deadline: $(head -1 "$tmp/limits/work/logs/train_record_1_run1.log")"
grep -q 'time limit 420 s, ' "$tmp/lanes/work/logs/train_record_1_run1.log" ||
  fail "the default run limit is not 420 s: $(head -1 "$tmp/lanes/work/logs/train_record_1_run1.log")"
# the header names the code the run trained (calibration-results checks it against the template)
code=$("$1/scripts/records/template-hash" "$template/record_1")
[[ $(head -1 "$tmp/lanes/work/logs/train_record_1_run1.log") == *", code $code" ]] ||
  fail "record_1's log does not name its code $code: $(head -1 "$tmp/lanes/work/logs/train_record_1_run1.log")"
calibrate late GPUS="0" DEADLINE_S=5 PLAN="record_1,record_2"
rc=$?
((rc == 1)) || fail "skipped runs exited $rc, expected 1"
[[ $(tail -n +2 "$tmp/late/work/logs/runs.tsv" | cut -f6 | sort -u) == skipped ]] || fail "runs past the deadline were not skipped: $(cat "$tmp/late/work/logs/runs.tsv")"
[[ -e $tmp/late/work/logs/train_record_1_run1.log ]] && fail "a skipped run was started"
tar -tzf "$tmp/late/out/calibration.tar.gz" | grep -q 'runs.tsv' || fail "no calibration.tar.gz after skipped runs"

# Plans refused before anything runs, each with a message naming the problem.
refuse() {  # refuse NAME PATTERN ENV...
  local name=$1 pattern=$2; shift 2
  calibrate "$name" "$@"
  local rc=$?
  ((rc == 2)) || fail "$name: exited $rc, expected 2"
  grep -q -- "$pattern" "$tmp/$name.txt" || fail "$name: no '$pattern' in: $(cat "$tmp/$name.txt")"
  [[ -e $tmp/$name/work/logs/runs.tsv ]] && fail "$name: runs were started"
}
refuse more_lanes "3 lanes but only 2 GPUs" GPUS="1 2" PLAN="record_1 record_2 record_3"
refuse bad_record "record_99" GPUS="0" PLAN="record_99"
refuse bad_oracle "oracle_1" GPUS="0" PLAN="oracle_1"
refuse bad_target "record_3@high" GPUS="0" PLAN="record_3@high"
refuse oracle_off "ORACLES=0" GPUS="0" ORACLES=0 PLAN="oracle_3"
refuse bad_gpu "GPUS entry 'x'" GPUS="x" PLAN="record_1"
refuse bad_key "have no muon_lr=" GPUS="0" PLAN="record_2:muon_lr=0.02"
refuse bad_value "record_2:lr=big" GPUS="0" PLAN="record_2:lr=big"
refuse oracle_settings "changes the settings of an oracle run" GPUS="0" PLAN="oracle_3:lr=1e-3"

((failures == 0)) && echo "device-calibrate dry runs: all checks passed"
exit $((failures > 0))
