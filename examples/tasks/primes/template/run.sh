#!/bin/sh
# The primes task's launch command: build, then count the primes below 2,000,000.
set -e
c++ -O2 -o primes primes.cpp
exec ./primes --limit 2000000
