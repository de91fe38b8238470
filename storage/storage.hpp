#pragma once

/// Module `storage`: plain, synchronous, deterministic code; no actors, no threads.
///
/// - `log_store`: the disk seam (ordered KV with atomic batches and explicit sync) and its
///   RocksDB implementation (`open_rocksdb`).
/// - `local_log`: the single-replica durable log of a container (fsync per append).
/// - `container_state`: the segment container state machine (append with writer-id dedup, seal,
///   delete, reads, recovery by log replay).
/// - `controller_state`: scopes and streams, persisted with an fsync per change (standalone) or
///   as replicated commands (cluster).
/// - `raft::replica`: the Raft core as a pure state machine; `raft::raft_log` persists it;
///   `raft::ready_runner` runs its ready cycle for every owner (actors, simulator, tests);
///   `raft::snapshot_pacer` is what a node's groups share when they send snapshots (the one
///   piece here that several actors' threads use: it locks).
/// - `rate_meter`, `decide` (scaling.hpp): a segment's measured load and the auto-scaler's
///   rules (pure; time passed in).
/// - `keys`: the key layout of the node's database (public for the simulator's oracles, which
///   inspect durable state).
///
/// May include: schema.

#include "storage/container_state.hpp"
#include "storage/controller_state.hpp"
#include "storage/keys.hpp"
#include "storage/local_log.hpp"
#include "storage/log_store.hpp"
#include "storage/raft.hpp"
#include "storage/raft_log.hpp"
#include "storage/raft_runner.hpp"
#include "storage/scaling.hpp"
#include "storage/snapshot_pacer.hpp"
