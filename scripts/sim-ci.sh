#!/usr/bin/env bash
# The simulator's CI job (sim/README.md): determinism, regression seeds, a fuzz batch whose
# start seed changes with the commit, and the planted-bug check. The batches are sized to keep
# the job near 4 minutes on 2 cores (CI's whole run must stay under 45): each commit fuzzes new
# seeds, so coverage grows over commits; long campaigns are `pravaha-sim fuzz` run by hand.
# Needs a built pravaha-sim.
#   scripts/sim-ci.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
sim="${1:-build}/sim/pravaha-sim"
[ -x "$sim" ] || { echo "sim-ci: $sim not built" >&2; exit 2; }
jobs=$(nproc 2>/dev/null || echo 2)
start=$(( 16#$(git rev-parse --short=8 HEAD 2>/dev/null || echo 1) ))
started=$(date +%s)
step() { echo; echo "== sim-ci: $* ($(( $(date +%s) - started )) s)"; }

step "determinism: 10 seeds, each run three times (twice here, once in a fresh process)"
"$sim" determinism --seed "$start" --seeds 10 | tail -1

step "determinism of the Raft world: 5 seeds"
"$sim" determinism --seed "$start" --seeds 5 --profile raft | tail -1

step "determinism of the cluster profile: 5 seeds"
"$sim" determinism --seed "$start" --seeds 5 --profile cluster | tail -1

step "determinism of the scripted Raft scenarios: 5 seeds each"
"$sim" determinism --seed "$start" --seeds 5 --profile raft-stale | tail -1
"$sim" determinism --seed "$start" --seeds 5 --profile raft-stale-read | tail -1

step "determinism with transactions: 10 default seeds, 5 of the cluster"
"$sim" determinism --seed "$start" --seeds 10 --faults txns=1 | tail -1
"$sim" determinism --seed "$start" --seeds 5 --profile cluster --faults txns=1 | tail -1

step "regression seeds (sim/regressions.txt)"
grep -vE '^\s*(#|$)' sim/regressions.txt | sed 's/#.*//' | while read -r seed profile flags; do
  # shellcheck disable=SC2086  # flags are words
  if ! "$sim" run --seed "$seed" --profile "$profile" $flags >/tmp/sim-regression.out 2>&1; then
    tail -3 /tmp/sim-regression.out
    echo "sim-ci: regression seed $seed ($profile $flags) failed"
    exit 1
  fi
  echo "seed $seed $profile $flags: $(tail -1 /tmp/sim-regression.out)"
done

for profile in default swarm; do
  step "fuzz: 400 seeds of profile $profile from seed $start"
  "$sim" fuzz --seeds 400 --start-seed "$start" --profile "$profile" --jobs "$jobs" 2>/dev/null | tail -12
done

step "fuzz with transactions in every seed: 200 seeds of default, 60 of cluster"
"$sim" fuzz --seeds 200 --start-seed "$start" --profile default --faults txns=1 --jobs "$jobs" 2>/dev/null | tail -12
"$sim" fuzz --seeds 60 --start-seed "$start" --profile cluster --faults txns=1 --jobs "$jobs" 2>/dev/null | tail -12

step "fuzz, long safety phase: 80 seeds of swarm with 40 s of faults"
"$sim" fuzz --seeds 80 --start-seed "$start" --profile swarm --chaos-time 40000 \
  --live-time 60000 --jobs "$jobs" 2>/dev/null | tail -12

for profile in default disk; do
  step "fuzz, Tier B (real RocksDB on the crash file system): 160 seeds of $profile"
  "$sim" fuzz --seeds 160 --start-seed "$start" --profile "$profile" --storage rocksdb --jobs "$jobs" 2>/dev/null | tail -12
done

step "fuzz, Raft world: 150 seeds of 3 replicas, 30 of 5, 25 of each scripted scenario (stale ack, stale read)"
"$sim" fuzz --seeds 150 --start-seed "$start" --profile raft --jobs "$jobs" 2>/dev/null | tail -12
"$sim" fuzz --seeds 30 --start-seed "$start" --profile raft5 --jobs "$jobs" 2>/dev/null | tail -12
"$sim" fuzz --seeds 25 --start-seed "$start" --profile raft-stale --jobs "$jobs" 2>/dev/null | tail -3
"$sim" fuzz --seeds 25 --start-seed "$start" --profile raft-stale-read --jobs "$jobs" 2>/dev/null | tail -3

step "fuzz, cluster (3 nodes of real actors, clients failing over): 250 seeds, 40 on Tier B"
"$sim" fuzz --seeds 250 --start-seed "$start" --profile cluster --jobs "$jobs" 2>/dev/null | tail -12
"$sim" fuzz --seeds 40 --start-seed "$start" --profile cluster --storage rocksdb --jobs "$jobs" 2>/dev/null | tail -12

step "planted bugs: each caught within its budget (3 trials), with and without oracles, and in the cluster"
"$sim" mutants --trials 3 --start-seed "$start" --jobs "$jobs"
"$sim" mutants --trials 3 --start-seed "$start" --jobs "$jobs" --no-oracles
"$sim" mutants --trials 3 --start-seed "$start" --jobs "$jobs" --profile cluster

step "done"
