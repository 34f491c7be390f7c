#!/usr/bin/env bash
# Runs bench-gpt2 and the PyTorch baseline on the same card in one go and
# prints both and their ratio (CUDA tokens/s over PyTorch tokens/s).
#   bench/compare.sh path/to/bench-gpt2 [--batches 32,64] [--steps 20]
set -uo pipefail
exe=$1; shift
here=$(dirname "$0")
log=$(mktemp)
echo "# $(date +%H:%M:%S.%N) cuda starts"  # timestamps to line up with a clock log
"$exe" "$@" | tee -a "$log"
echo "# $(date +%H:%M:%S.%N) torch starts"
python3 "$here/torch_gpt2.py" "$@" | tee -a "$log"
echo "# $(date +%H:%M:%S.%N) done"
echo
echo "batch  cuda tok/s   torch tok/s   ratio (cuda/torch)"
for b in $(grep -o 'impl=cuda batch=[0-9]*' "$log" | cut -d= -f3); do
  c=$(grep "impl=cuda batch=$b " "$log" | sed 's/.*tokens_per_s=\([0-9]*\).*/\1/')
  t=$(grep "impl=torch batch=$b " "$log" | sed 's/.*tokens_per_s=\([0-9]*\).*/\1/')
  if [[ -n $c && -n $t ]]; then
    printf "%-6s %-12s %-13s %.3f\n" "$b" "$c" "$t" "$(awk -v c="$c" -v t="$t" 'BEGIN {print c / t}')"
  else
    printf "%-6s %-12s %-13s -\n" "$b" "${c:--}" "${t:--}"
  fi
done
rm -f "$log"
