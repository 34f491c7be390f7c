#!/usr/bin/env bash
# scripts/records/gen-level3-results on made-up templates and papers in a temp --root: the
# paragraph it writes (card, settings, times, medians rounded as the hints test reads them,
# the verdict), the hand-written part it keeps, --check, runs older than run.sh's schedule,
# and the inputs it refuses.
#   tests/records/gen_level3_results.sh SOURCE_ROOT
set -u
script=$1/scripts/records/gen-level3-results
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
card="NVIDIA H100 80GB HBM3 (one GPU of a 1-GPU machine, one run at a time)"

# results R MEDIAN SCHEDULE STEPS T1 T2 T3 [CARD]: a mini-track calibration of three runs
results() {
  local r=$1 median=$2 schedule=$3 steps=$4 c=${8:-$card}
  mkdir -p "$tmp/workspace_templates/nanogpt_speedrun/record_$r"
  cat > "$tmp/workspace_templates/nanogpt_speedrun/record_$r/results.json" <<JSON
{"record": $r, "tracks": {"mini": {"card": "$c", "target_val_loss": 3.5, "val_tokens": 1048576,
 "val_every": 25, "tokens_per_step": 32768, "n_steps_schedule": $schedule, "n_runs": 3,
 "train_time_ms": $median, "note": "... (scripts/records/device-calibrate, 2026-12-01; ...)",
 "runs": [{"code": "template", "train_time_ms": $5, "n_steps": $steps, "val_loss": 3.49},
          {"code": "template", "train_time_ms": $6, "n_steps": $steps, "val_loss": 3.49},
          {"code": "template", "train_time_ms": $7, "n_steps": $steps, "val_loss": 3.49},
          {"code": "oracle", "train_time_ms": 1, "n_steps": 1, "val_loss": 3.0}]}}}
JSON
  printf '#!/usr/bin/env bash\ncase $track in\n  mini)\n    global_batch=32 steps=%s warmup=0 ;;\n  fineweb)\n    steps=99999 ;;\nesac\n' \
    "$schedule" > "$tmp/workspace_templates/nanogpt_speedrun/record_$r/run.sh"
}
papers() {
  for r in 1 2 3 4; do
    mkdir -p "$tmp/data/nanogpt_speedrun_knowledge_in_levels/record_$r"
    printf '# Step %s\n\n## Motivation\nWhy.\n\n## Results\nPublic record: hand-written.\n' "$r" \
      > "$tmp/data/nanogpt_speedrun_knowledge_in_levels/record_$r/level_3_paper.txt"
  done
}
paper() { cat "$tmp/data/nanogpt_speedrun_knowledge_in_levels/record_$1/level_3_paper.txt"; }
flat() { paper "$1" | tr '\n' ' '; }

results 1 120000 1200 1000 119000 120000 121000
results 2 90000.5 1000 800 89000 90000.5 91000
results 3 45000 900 400 44000 45000 46000
results 4 50000 900 450 49000 50000 51000
results 5 40000 800 375 39000 40000 41000
papers

"$script" --root "$tmp" --check > /dev/null && fail "--check passed on papers without a measurement paragraph"
out=$("$script" --root "$tmp" 2>&1) || fail "writing failed: $out"
[[ $(grep -c "measurement paragraph rewritten" <<< "$out") == 4 ]] || fail "expected 4 papers rewritten: $out"
"$script" --root "$tmp" --check || fail "--check failed right after writing"
paper 1 | grep -q '^Public record: hand-written.$' || fail "the hand-written part was lost: $(paper 1)"
[[ $(paper 1 | grep -c '^Our measurement') == 1 ]] || fail "paper 1 should have one measurement paragraph"
f=$(flat 1)
for want in "NVIDIA H100 80GB HBM3" "32,768 tokens per step" "3.5 on 1,048,576 tokens" "validation every 25 steps" \
            "calibration of 2026-12-01" "119,000 / 120,000 / 121,000 ms" "median 120,000 ms" "at step 1,000" \
            "record 1 (1,200-step schedule)" "median 90,001 ms" "record 2 is 1.33x faster by the medians" \
            "the runs of a record print the same losses"; do
  [[ $f == *"$want"* ]] || fail "paper 1 lacks '$want': $f"
done
[[ $f == *"earlier version"* ]] && fail "paper 1 calls current runs old: $f"
[[ $(flat 3) == *"record 4 is not faster (0.90x by the medians)"* ]] || fail "paper 3's verdict: $(flat 3)"
[[ $(flat 1) == *", 1 ms"* || $(flat 1) == *"/ 1 /"* ]] && fail "an oracle run was counted as the template's: $(flat 1)"

# a second run changes nothing; a new calibration makes --check fail until it is written
before=$(paper 2)
"$script" --root "$tmp" > /dev/null
[[ $(paper 2) == "$before" ]] || fail "a second run changed paper 2"
results 3 44000 900 400 43000 44000 45000
"$script" --root "$tmp" --check > "$tmp/check.out" && fail "--check passed after record 3's calibration changed"
grep -q "record_2/level_3_paper.txt is stale" "$tmp/check.out" || fail "--check did not name paper 2: $(cat "$tmp/check.out")"
grep -q "record_3/level_3_paper.txt is stale" "$tmp/check.out" || fail "--check did not name paper 3: $(cat "$tmp/check.out")"
grep -q "record_1/" "$tmp/check.out" && fail "--check named paper 1, which did not change: $(cat "$tmp/check.out")"
"$script" --root "$tmp" > /dev/null

# runs of another schedule than run.sh's are labelled as an earlier version of the template
sed -i 's/steps=800 /steps=700 /' "$tmp/workspace_templates/nanogpt_speedrun/record_5/run.sh"
"$script" --root "$tmp" > /dev/null
[[ $(flat 4) == *"These runs trained an earlier version of the template (record 5's mini schedule was 800 steps, run.sh's is now 700): a recalibration replaces them."* ]] ||
  fail "paper 4 does not say record 5's runs predate its schedule: $(flat 4)"
[[ $(flat 3) == *"earlier version"* ]] && fail "paper 3 does not involve record 5: $(flat 3)"

# refusals: two cards in one step, a missing results.json, a missing paper
results 2 90000 1000 800 89000 90000 91000 "NVIDIA H200 (one GPU)"
out=$("$script" --root "$tmp" 2>&1) && fail "two cards in one step were accepted"
[[ $out == *"different card"* && $out == *"fix:"* ]] || fail "unclear refusal of two cards: $out"
results 2 90000 1000 800 89000 90000 91000
rm "$tmp/workspace_templates/nanogpt_speedrun/record_4/results.json"
out=$("$script" --root "$tmp" 2>&1) && fail "a missing results.json was accepted"
[[ $out == *"record_4/results.json"* && $out == *"calibration-results"* ]] || fail "unclear refusal of a missing results.json: $out"
results 4 50000 900 450 49000 50000 51000
rm "$tmp/data/nanogpt_speedrun_knowledge_in_levels/record_2/level_3_paper.txt"
out=$("$script" --root "$tmp" 2>&1) && fail "a missing paper was accepted"
[[ $out == *"record_2/level_3_paper.txt"* && $out == *"fix:"* ]] || fail "unclear refusal of a missing paper: $out"

((failures == 0)) && echo "gen-level3-results: all checks passed"
exit $((failures > 0))
