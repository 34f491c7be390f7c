#!/usr/bin/env bash
# scripts/records/fit-schedules with a stand-in trainer (FIT_TRAINER) whose final validation loss
# falls with the schedule's length: the rounds narrow the bracket, the shortest length that reaches
# the target is chosen with the record's warmup/warmdown fractions, --apply-from writes it into a
# copy's run.sh, and a missing TARGET or an unknown record is refused.
set -uo pipefail
root=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# a copy of the scripts and templates, so --apply-from writes there
mkdir -p "$tmp/repo/scripts/records" "$tmp/repo/workspace_templates/nanogpt_speedrun" "$tmp/data"
cp "$root/scripts/records/fit-schedules" "$tmp/repo/scripts/records/"
for r in 2 5; do cp -r "$root/workspace_templates/nanogpt_speedrun/record_$r" "$tmp/repo/workspace_templates/nanogpt_speedrun/"; done
# the stand-in trainer (its loss falls with the schedule's length)
cp "$root/tests/records/fit_stand_in_trainer" "$tmp/trainer"
fit=$tmp/repo/scripts/records/fit-schedules
# target 3.8: the S-step schedule ends at 2.8 + 100/(S+10), at or below 3.8 from S = 90 on;
# a longer one crosses 3.8 at a validation (k >= 115) before its end only from S = 116 on.
TARGET=3.8 FIT_TRAINER=$tmp/trainer "$fit" --records 2,5 --start 2:200,5:150 --rounds 4 --probes 3 --parallel 2 \
  --data "$tmp/data" --work "$tmp/work" --out "$tmp/out" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "fit-schedules failed"; }
python3 - "$tmp/out/fit.json" <<'PY' || { cat "$tmp/log"; exit 1; }
import json, sys
d = json.load(open(sys.argv[1]))
c = d["chosen"]
for r, lo_ok in (("2", 90), ("5", 90)):
    s = c[r]["steps"]
    assert lo_ok <= s <= lo_ok + 6, f"record {r}: chose {s}, want 90..96: {c[r]}"
    assert c[r]["longest_short"] < lo_ok <= s, c[r]
    assert c[r]["verdict"] == "ends_at_target", c[r]
assert c["2"]["warmup"] == round(c["2"]["steps"] * 256 / 9536) and c["2"]["warmdown"] == round(c["2"]["steps"] * 2000 / 9536), c["2"]
assert c["5"]["warmup"] == 0 and c["5"]["warmdown"] == round(c["5"]["steps"] * 1450 / 5100), c["5"]
v = {p["verdict"] for p in d["probes"]}
assert {"short", "ends_at_target"} <= v, v
print("chosen", c["2"]["steps"], c["5"]["steps"], "from", len(d["probes"]), "probes")
PY
[[ $? == 0 ]] || fail "wrong fit"
grep -q '^record  steps' "$tmp/log" || fail "no table: $(cat "$tmp/log")"
# the probes ran copies: the templates are untouched until --apply-from
diff -q "$root/workspace_templates/nanogpt_speedrun/record_5/run.sh" "$tmp/repo/workspace_templates/nanogpt_speedrun/record_5/run.sh" > /dev/null ||
  fail "a probe changed the template"
"$fit" --apply-from "$tmp/out/fit.json" > "$tmp/apply.log" 2>&1 || fail "--apply-from failed: $(cat "$tmp/apply.log")"
s5=$(python3 -c "import json; c = json.load(open('$tmp/out/fit.json'))['chosen']['5']; print(f\"steps={c['steps']} warmup=0 warmdown={c['warmdown']} \")")
grep -q "global_batch=32 $s5" "$tmp/repo/workspace_templates/nanogpt_speedrun/record_5/run.sh" ||
  fail "record 5's mini line is not the fit ($s5): $(grep global_batch=32 "$tmp/repo/workspace_templates/nanogpt_speedrun/record_5/run.sh")"
grep -q 'global_batch=512 steps=5100 ' "$tmp/repo/workspace_templates/nanogpt_speedrun/record_5/run.sh" || fail "the fineweb line changed"
# --fixed keeps record 2's warmup at 7 whatever the length (the stand-in logs what it saw)
TARGET=3.8 FIT_TRAINER=$tmp/trainer "$fit" --records 2 --start 2:200 --rounds 1 --probes 2 --fixed 2:warmup=7 \
  --data "$tmp/data" --work "$tmp/work2" --out "$tmp/out2" > "$tmp/log2" 2>&1 || fail "--fixed run failed: $(cat "$tmp/log2")"
[[ $(sort -u "$tmp"/work2/record_2~steps*/seen) == "warmup 7" ]] || fail "--fixed: the probes saw $(cat "$tmp"/work2/record_2~steps*/seen)"
# --short: the first round probes inside the bracket (60, 100) at once
TARGET=3.8 FIT_TRAINER=$tmp/trainer "$fit" --records 5 --start 5:100 --short 5:60 --rounds 1 --probes 3 \
  --data "$tmp/data" --work "$tmp/work3" --out "$tmp/out3" > "$tmp/log3" 2>&1 || fail "--short run failed: $(cat "$tmp/log3")"
[[ $(ls -d "$tmp"/work3/record_5~steps* | sed 's/.*steps//; s/~.*//' | sort -n | tr '\n' ' ') == "70 80 90 " ]] ||
  fail "--short: probed $(ls "$tmp/work3")"
out=$(TARGET=3.8 "$fit" --records 2 --fixed 2:lr=1 2>&1) && fail "took --fixed 2:lr=1"
grep -q 'want R:warmup=N' <<< "$out" || fail "no --fixed message: $out"
# refusals
out=$(TARGET=3.8 "$fit" --records 2 --start 2=525 2>&1) && fail "took --start 2=525"
grep -q 'want RECORD:STEPS' <<< "$out" || fail "no --start message: $out"
out=$("$fit" --records 2 2>&1) && fail "ran without TARGET"
grep -q 'TARGET must be' <<< "$out" || fail "no TARGET message: $out"
out=$(TARGET=3.8 "$fit" --records 1 2>&1) && fail "fitted record 1"
grep -qE 'fix: name records among 2-[0-9]+' <<< "$out" || fail "no record message: $out"
echo "fit-schedules: ok"
