#!/bin/sh
# The collatz task's launch command: build, then search below 10M within a
# budget of 200M chain steps.
set -e
c++ -O2 -o collatz collatz.cpp
exec ./collatz --limit 10000000 --budget-steps 200000000
