#!/bin/sh
# Compiles a translation unit that must fail, and checks the compiler's message.
#   must_not_compile.sh SOURCE EXPECTED-MESSAGE COMPILER [FLAGS...]
src=$1 expected=$2
shift 2
out=$("$@" -fsyntax-only "$src" 2>&1)
if [ $? -eq 0 ]; then echo "$src compiled but must not"; exit 1; fi
if ! printf '%s' "$out" | grep -qF -- "$expected"; then
  printf '%s\n' "$out" | head -40
  echo "the error does not say: $expected"
  exit 1
fi
echo "refused as expected: $expected"
