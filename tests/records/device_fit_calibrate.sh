#!/usr/bin/env bash
# scripts/records/device-fit-calibrate with stand-ins (fit-schedules' FIT_TRAINER, device-calibrate's
# DRY_RUN) in a git copy of the repository's scripts, templates and hints: the fit writes its lines
# into the copy's run.sh and the level-0 diffs follow, the calibration trains each record RUNS times
# interleaved at the fitted line with the target, and its code hashes are those of the templates as
# `fit-schedules --apply-from` writes them; bad arguments are refused before any work.
#   tests/records/device_fit_calibrate.sh SOURCE_ROOT
set -uo pipefail
root=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
repo=$tmp/repo
mkdir -p "$repo/data"
cp -r "$root/scripts" "$root/workspace_templates" "$repo/"
cp -r "$root/data/nanogpt_speedrun_knowledge_in_levels" "$repo/data/"
rm -rf "$repo"/workspace_templates/nanogpt_speedrun/*/build
(cd "$repo" && git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm copy) || fail "git copy"
# the stand-in trainer (its loss falls with the schedule's length)
cp "$root/tests/records/fit_stand_in_trainer" "$tmp/trainer"
tool=$repo/scripts/records/device-fit-calibrate
run() { env TARGET=3.8 DRY_RUN=1 FIT_TRAINER="$tmp/trainer" GPUS=0 WORK_DIR="$tmp/work" OUT="$tmp/out" "$@"; }

run RUNS=2 "$tool" 5,6 --start 5:150,6:150 --rounds 2 --probes 3 --parallel 2 > "$tmp/log" 2>&1
rc=$?
((rc == 0)) || fail "exit $rc: $(tail -30 "$tmp/log")"
[[ -f $tmp/out/fit.json && -f $tmp/out/fit.tar.gz ]] || fail "no fit.json or fit.tar.gz in OUT: $(ls "$tmp/out")"
grep -q '^record  steps' "$tmp/log" || fail "no fit table: $(cat "$tmp/log")"
for r in 5 6; do
  steps=$(python3 -c "import json; print(json.load(open('$tmp/out/fit.json'))['chosen']['$r']['steps'])")
  grep -q "global_batch=32 steps=$steps " "$repo/workspace_templates/nanogpt_speedrun/record_$r/run.sh" ||
    fail "record $r's run.sh lacks the fitted steps=$steps"
done
# the level-0 diffs follow the fitted lines: the calibration's patch-identity check passed
grep -q "oracle 5->6: patched record_5 is identical to record_6" "$tmp/log" || fail "patch identity after the fit: $(cat "$tmp/log")"
# two rounds of both records, interleaved, each at the target
got=$(tail -n +2 "$tmp/work/logs/runs.tsv" | cut -f1,2,5 | tr '\n' ' ')
[[ $got == "record_5_run1	record_5	3.8 record_6_run1	record_6	3.8 record_5_run2	record_5	3.8 record_6_run2	record_6	3.8 " ]] ||
  fail "runs.tsv: $got"
# the logged code is the templates' as --apply-from writes them into a fresh copy
cp -r "$repo" "$tmp/fresh" && (cd "$tmp/fresh" && git checkout -q -- . && scripts/records/fit-schedules --apply-from "$tmp/out/fit.json" > /dev/null) ||
  fail "--apply-from in a fresh copy"
for r in 5 6; do
  want=$("$tmp/fresh/scripts/records/template-hash" "$tmp/fresh/workspace_templates/nanogpt_speedrun/record_$r")
  grep -q "code $want\$" "$tmp/work/logs/train_record_${r}_run1.log" ||
    fail "record $r's log names another code than $want: $(head -1 "$tmp/work/logs/train_record_${r}_run1.log")"
done

# refused before any work
out=$(env -u TARGET "$tool" 5 2>&1); (($? == 2)) && grep -q "TARGET is not set" <<< "$out" || fail "no TARGET: $out"
out=$(TARGET=3.8 "$tool" 5:150 2>&1); (($? == 2)) && grep -q "not a comma-separated list" <<< "$out" || fail "bad RECORDS: $out"
out=$(TARGET=3.8 RUNS=0 "$tool" 5 2>&1); (($? == 2)) && grep -q "RUNS='0'" <<< "$out" || fail "bad RUNS: $out"
out=$(TARGET=3.8 MINI_BUNDLE=$tmp/none.tar.xz WORK_DIR=$tmp/w2 "$tool" 5 2>&1); (($? == 2)) && grep -q "none.tar.xz is missing" <<< "$out" ||
  fail "missing bundle: $out"

if ((failures)); then echo "$failures failure(s)"; exit 1; fi
echo "device-fit-calibrate: all cases behave"
