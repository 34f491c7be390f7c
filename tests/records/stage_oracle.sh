#!/usr/bin/env bash
# scripts/records/stage-oracle, then scripts/records/device-oracle in the staged folder with
# stand-ins for nvidia-smi (two GPUs) and speedrun: the staged executable runs from its own
# lib/, and four oracle runs on two GPUs go two at a time, each batch on GPUs 0 and 1.
#   tests/records/stage_oracle.sh SOURCE_ROOT BUILD_DIR
set -u
root=$1 build=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

stage=$tmp/stage
"$root/scripts/records/stage-oracle" "$stage" "$build" > "$tmp/stage.txt" 2>&1 || fail "stage-oracle failed: $(cat "$tmp/stage.txt")"
for f in speedrun device-oracle config/task/nanogpt_speedrun/record_1.json \
         workspace_templates/nanogpt_speedrun/record_5/run.sh \
         data/nanogpt_speedrun_knowledge_in_levels/record_4/level_0_diff.txt data/demo; do
  [[ -e $stage/$f ]] || fail "the staged folder lacks $f"
done
[[ -z $(find "$stage/workspace_templates" -name build) ]] || fail "build outputs were staged"
env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$stage/lib" "$stage/speedrun" --version > "$tmp/version.txt" 2>&1 ||
  fail "the staged speedrun does not start: $(cat "$tmp/version.txt")"
"$root/scripts/records/stage-oracle" "$stage" "$build" > "$tmp/again.txt" 2>&1 && fail "staging over an existing folder was accepted"
grep -q 'exists; fix: name a new folder' "$tmp/again.txt" || fail "no fix for an existing folder: $(cat "$tmp/again.txt")"

# device-oracle with stand-ins: two GPUs; a speedrun that notes when each run starts and ends
mkdir -p "$tmp/bin" "$tmp/empty"
printf '#!/bin/sh\nif [ "$1" = -L ]; then echo "GPU 0: stand-in"; echo "GPU 1: stand-in"; else echo "index, name"; fi\n' > "$tmp/bin/nvidia-smi"
cat > "$stage/speedrun" <<'STUB'
#!/bin/bash
[[ $1 == report ]] && { echo "report of $#"; exit 0; }
record=${1#task=nanogpt_speedrun/record_}
gpu=$(printf '%s\n' "$@" | sed -n 's/^executor.gpus=\[\(.*\)\]$/\1/p')
echo "start $record gpu $gpu $(date +%s.%N)" >> "$(dirname "$0")/events.log"
sleep 1
echo "end $record $(date +%s.%N)" >> "$(dirname "$0")/events.log"
STUB
chmod +x "$tmp/bin/nvidia-smi" "$stage/speedrun"
tar -C "$tmp/empty" -cJf "$stage/mini-bundle.tar.xz" .
(cd "$stage" && PATH="$tmp/bin:$PATH" OUT="$tmp/out" RECORDS="1 2 3 4" ./device-oracle > "$tmp/oracle.txt" 2>&1) ||
  fail "device-oracle failed: $(cat "$tmp/oracle.txt")"
events=$stage/events.log
gpus=$(awk '$1 == "start" {print $2 ":" $4}' "$events" | sort | tr '\n' ' ')
[[ $gpus == "1:0 2:1 3:0 4:1 " ]] || fail "record:GPU of the runs: got '$gpus', expected '1:0 2:1 3:0 4:1 '"
first_end=$(awk '$1 == "end" && ($2 == 1 || $2 == 2) {print $3}' "$events" | sort -n | tail -1)
second_start=$(awk '$1 == "start" && ($2 == 3 || $2 == 4) {print $5}' "$events" | sort -n | head -1)
[[ -n $first_end && -n $second_start ]] && awk -v a="$first_end" -v b="$second_start" 'BEGIN {exit !(b >= a)}' ||
  fail "the second batch started ($second_start) before the first ended ($first_end): $(cat "$events")"
grep -q 'report of' "$tmp/out/report.txt" || fail "no report: $(cat "$tmp/oracle.txt")"

((failures == 0)) && echo "stage-oracle and device-oracle batching: all checks passed"
exit $((failures > 0))
