#!/usr/bin/env bash
# Determinism lint (design.md section 3, sim/README.md): production code reaches time,
# randomness, threads and the network only through the adapters below, so that pravaha-sim can
# run it on its own scheduler, clock, network and disk. Fails on any other use.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='std::chrono::(system|steady|high_resolution)_clock::now|\brandom_device\b|\bs?rand\(|\bstd::thread\b|\bstd::async\b|\bsleep_for\b|\bsleep_until\b|\busleep\(|\bnanosleep\(|\bsleep\(|\bgettimeofday\(|\btime\(nullptr\)|\bsocket\(|\bcaf::io::|std::[a-z_]+_distribution'
# The adapters, each with the reason it may:
allowed=(
  ':!runtime/'                 # the process: signals, shutdown watchdog, wall clock, CAF io (TCP)
  ':!client/client_factory.cpp' # the blocking facade: connects over TCP, random writer ids
  ':!client/data_channel.cpp'  # the data port's connection: a socket and its reading thread
  ':!client/internal.hpp'      # the connector seam's type (CAF's middleman actor interface)
  ':!client/cli_main.cpp'      # command-line tool
  ':!client/cli_group.cpp'     # command-line tool
  ':!client/bench_main.cpp'    # benchmark tool: measures wall time
  ':!client/bench_actor.cpp'   # its actor-API mode: wall time, its own actor system with CAF io
  ':!client/bench_frames.cpp'  # its frames mode: wall time, a raw TCP connection to the data port
  ':!client/bench_scale.cpp'   # its scale mode: wall time, a thread that watches the stream
  ':!client/typescript/'       # the TypeScript client: another process, outside the simulator
  ':!client/examples/'         # example applications: processes with a main, outside the simulator
)
hits=$(git grep -nE "$banned" -- schema storage actors client "${allowed[@]}" || true)
if [ -n "$hits" ]; then
  echo "determinism-lint: wall clock, randomness, threads, sleeps or sockets outside the adapters:"
  echo "$hits"
  echo "(use the actor clock, a seeded generator passed in, or move the code into an adapter)"
  exit 1
fi
# The planted bugs are compiled into every build (schema/mutants.hpp): only the simulator (and
# its tests) may choose one.
planted=$(git grep -nE 'mutants::current\s*=[^=]' -- ':!sim/' ':!tests/sim/' || true)
if [ -n "$planted" ]; then
  echo "determinism-lint: a planted bug chosen outside the simulator:"
  echo "$planted"
  exit 1
fi
echo "determinism-lint: ok"
