#!/usr/bin/env bash
# scripts/records/check-fidelity on broken copies of the recipes, templates and fidelity page in a
# temp folder: each kind of damage must fail (exit 1) naming what is wrong; findings between
# consecutive records are printed without failing. The real tree is checked by records_check_fidelity.
#   tests/records/check_fidelity.sh SOURCE_ROOT
set -u
root=$1
script=$root/scripts/records/check-fidelity
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

fresh() {  # a copy of the real recipes in $tmp/r
  rm -rf "$tmp/r"; cp -r "$root/data/nanogpt_speedrun_recipes" "$tmp/r"
}
edit() {  # edit FILE PYTHON: run PYTHON with d = the JSON of FILE, then write d back
  python3 - "$1" "$2" <<'EOF'
import json, sys
path, code = sys.argv[1], sys.argv[2]
d = json.load(open(path))
exec(code)
open(path, "w").write(json.dumps(d, indent=1, ensure_ascii=False) + "\n")
EOF
}
expect_fail() {  # expect_fail NAME PATTERN ARGS...: exit 1 and PATTERN in the output
  local name=$1 pattern=$2; shift 2
  local out; out=$("$script" "$@" 2>&1); local rc=$?
  [[ $rc == 1 ]] || fail "$name: exit $rc, expected 1: $out"
  grep -qF -- "$pattern" <<< "$out" || fail "$name: the output lacks '$pattern': $out"
}
entry() {  # python: the index of a setting in d['settings'] (first entry named $1)
  echo "next(i for i, e in enumerate(d['settings']) if e['setting'] == '$1')"
}

# The recipes as committed pass against a table written from them.
fresh
out=$("$script" --recipes "$tmp/r" --doc "$tmp/doc.md" --write-table 2>&1) || fail "writing the table: $out"
out=$("$script" --recipes "$tmp/r" --doc "$tmp/doc.md" 2>&1) || fail "the committed recipes: $out"
grep -q "^record 5: [0-9]* settings checked" <<< "$out" || fail "no per-record summary: $out"
cmp -s "$tmp/doc.md" <("$script" --recipes "$tmp/r" --table) || fail "--table and --write-table disagree"

# A stale or missing page.
echo "edited by hand" >> "$tmp/doc.md"
expect_fail "stale page" "is stale" --recipes "$tmp/r" --doc "$tmp/doc.md"
expect_fail "missing page" "is missing" --recipes "$tmp/r" --doc "$tmp/none.md"

# Malformed recipes.
fresh; edit "$tmp/r/record_2.json" "del d['settings'][0]['status']"
expect_fail "missing key" "missing key 'status'" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_2.json" "d['settings'][0]['status'] = 'faithful'"
expect_fail "unknown status" "unknown status 'faithful'" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_3.json" "del d['settings'][$(entry 'residual stream')]['reason']"
expect_fail "differs without reason" "status 'differs' without a reason" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_4.json" "d['settings'][$(entry 'tokens per step')]['reason'] = ' '"
expect_fail "track without reason" "status 'track' without a reason" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_1.json" "d['settings'][0]['reasons'] = 'typo'"
expect_fail "unknown key" "unknown key 'reasons'" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_1.json" "d['settings'].append(dict(d['settings'][0]))"
expect_fail "duplicate" "appears twice" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_1.json" "del d['settings'][0]['ours_value']"
expect_fail "value check without ours_value" "without the entry's 'ours_value'" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_1.json" "d['settings'][0]['check'][0]['expect'] = 'maybe'"
expect_fail "unknown expect" "unknown expect 'maybe'" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_1.json" "d['settings'][0]['source'] = 'record_2/train_gpt2.py:10'"
expect_fail "source of another record" "is not a line of record_1/train_gpt2.py" --recipes "$tmp/r"
fresh; edit "$tmp/r/record_1.json" "d['record'] = 2"
expect_fail "wrong record number" "'record' is 2 in the file of record 1" --recipes "$tmp/r"
fresh; echo '{"record": 1,' > "$tmp/r/record_1.json"
expect_fail "broken JSON" "not readable JSON" --recipes "$tmp/r"
fresh; rm "$tmp/r/record_3.json"
expect_fail "record without a recipe" "record 3 has no recipe" --recipes "$tmp/r"
fresh; cp "$tmp/r/record_5.json" "$tmp/r/record_99.json"
expect_fail "recipe without a template" "no template record_99" --recipes "$tmp/r"
# A recipe whose ours_value is not what the template reads.
fresh; edit "$tmp/r/record_1.json" "i = $(entry 'peak AdamW learning rate'); d['settings'][i]['ours_value'] = '6e-4'"
expect_fail "ours_value off the template" "reads '1.5e-3' where the recipe says ours_value '6e-4'" --recipes "$tmp/r"

# A template changed without its recipe: a value, a pattern that must match, one that must not.
mkdir -p "$tmp/t" "$tmp/one"
cp "$root/data/nanogpt_speedrun_recipes/record_1.json" "$tmp/one/"
drift() {  # drift NAME PATTERN SED-EXPRESSION FILE
  rm -rf "$tmp/t/record_1"; cp -r "$root/workspace_templates/nanogpt_speedrun/record_1" "$tmp/t/"
  sed -i "$3" "$tmp/t/record_1/$4"
  cmp -s "$tmp/t/record_1/$4" "$root/workspace_templates/nanogpt_speedrun/record_1/$4" && fail "$1: the edit changed nothing"
  expect_fail "$1" "$2" --recipes "$tmp/one" --templates "$tmp/t"
}
rm -rf "$tmp/t/record_1"; cp -r "$root/workspace_templates/nanogpt_speedrun/record_1" "$tmp/t/"
"$script" --recipes "$tmp/one" --templates "$tmp/t" --doc "$tmp/one.md" --write-table > /dev/null 2>&1 \
  || fail "record 1 alone does not pass"
drift "mini lr changed" "'peak AdamW learning rate' (mini track): run.sh: reads '6e-4'" \
  '/^ *mini)/,/;;/s/ lr=1.5e-3/ lr=6e-4/' run.sh
drift "fineweb steps changed" "'steps' (fineweb track): run.sh: reads '19560'" 's/steps=24576/steps=19560/' run.sh
drift "activation changed" "'MLP activation': gelu.cuh: no longer matches" 's/x\[i\] \* (1\.0f + erff(/x[i] * (1.0f + tanhf(/' gelu.cuh
drift "QK-norm added" "'QK-norm': gpt2.cpp: now matches" 's|^    matmul_forward(blas_, qkv, norm1|    qk_norm_forward(qkv);\n&|' gpt2.cpp
rm -rf "$tmp/t/record_1"; cp -r "$root/workspace_templates/nanogpt_speedrun/record_1" "$tmp/t/"; rm "$tmp/t/record_1/gelu.cuh"
expect_fail "a checked file removed" "gelu.cuh does not exist" --recipes "$tmp/one" --templates "$tmp/t"

# Findings: an original that changes where the recipe does not mark it changed is printed, not failed.
fresh; edit "$tmp/r/record_3.json" "d['settings'][$(entry 'AdamW betas')]['original'] = '(0.8, 0.95)'"
"$script" --recipes "$tmp/r" --doc "$tmp/f.md" --write-table > /dev/null 2>&1 || fail "findings: cannot write the table"
out=$("$script" --recipes "$tmp/r" --doc "$tmp/f.md" 2>&1) || fail "findings must not fail: $out"
grep -qF "finding: record 3: 'AdamW betas' original changes" <<< "$out" || fail "no finding for record 3's betas: $out"
grep -qF "finding: record 4: 'AdamW betas' original changes" <<< "$out" || fail "no finding for record 4's betas: $out"
fresh; edit "$tmp/r/record_4.json" "d['settings'][$(entry 'AdamW eps')]['changed'] = True"
"$script" --recipes "$tmp/r" --doc "$tmp/f.md" --write-table > /dev/null 2>&1 || fail "findings: cannot write the table"
out=$("$script" --recipes "$tmp/r" --doc "$tmp/f.md" 2>&1) || fail "a needless 'changed' must not fail: $out"
grep -qF "finding: record 4: 'AdamW eps' is marked changed but its original equals record 3's" <<< "$out" \
  || fail "no finding for a needless 'changed': $out"

# Our template changing where the original does not is a finding, except for track-forced values,
# which each record's track schedule sets (record 2's mini warmup is 67 where record 1's is 13).
fresh; edit "$tmp/r/record_4.json" "d['settings'][$(entry 'AdamW betas')]['ours'] = 'betas (0.9, 0.95), fused'"
"$script" --recipes "$tmp/r" --doc "$tmp/f.md" --write-table > /dev/null 2>&1 || fail "findings: cannot write the table"
out=$("$script" --recipes "$tmp/r" --doc "$tmp/f.md" 2>&1) || fail "a template-only change must not fail: $out"
grep -qF "finding: record 4: our template changes 'AdamW betas'" <<< "$out" || fail "no finding for record 4's betas: $out"
grep -qF "finding: record 5: our template changes 'AdamW betas'" <<< "$out" || fail "no finding for record 5's betas: $out"
grep -qF "'warmup steps' (mini track)" <<< "$out" && fail "a track-forced warmup reported as a template change: $out"

# A renamed setting: dropped without a word unless the new entry says what it replaces.
fresh; edit "$tmp/r/record_4.json" "d['settings'][$(entry 'AdamW eps')]['setting'] = 'Adam eps'"
"$script" --recipes "$tmp/r" --doc "$tmp/f.md" --write-table > /dev/null 2>&1 || fail "rename: cannot write the table"
out=$("$script" --recipes "$tmp/r" --doc "$tmp/f.md" 2>&1) || fail "a rename must not fail: $out"
grep -qF "finding: record 4: 'AdamW eps' of record 3 has no entry here (dropped without a word)" <<< "$out" ||
  fail "no finding for a setting renamed without 'replaces': $out"
edit "$tmp/r/record_4.json" "d['settings'][$(entry 'Adam eps')]['replaces'] = 'AdamW eps'"
"$script" --recipes "$tmp/r" --doc "$tmp/f.md" --write-table > /dev/null 2>&1 || fail "rename: cannot write the table"
out=$("$script" --recipes "$tmp/r" --doc "$tmp/f.md" 2>&1) || fail "a rename with 'replaces' must not fail: $out"
grep -qF "'AdamW eps' of record 3 has no entry" <<< "$out" && fail "'replaces' did not pair the renamed setting: $out"
grep -qF "'Adam eps' is new here" <<< "$out" && fail "the renamed setting counts as new: $out"

if ((failures)); then echo "$failures failure(s)"; exit 1; fi
echo "check-fidelity: all cases behave"
