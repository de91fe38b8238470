#pragma once

// The planted bugs of `pravaha-sim mutants` (schema/mutants.hpp): their names, how many seeds
// each may take to be caught, which verdicts count as catching it, and which belong to the Raft
// group. Internal to sim/.

#include "schema/mutants.hpp"
#include "sim/world.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace pravaha::sim {

/// Every planted bug by its command-line name.
const std::map<std::string, mutants::mutant>& mutant_names();
std::string mutant_name(mutants::mutant m);

/// How many seeds `m` may take to be caught (simulation-spec.md 7.13 "K"), with or without the
/// continuous oracles.
uint64_t mutant_budget(mutants::mutant m, bool oracles);

/// Whether a run's verdict (and message) means the planted bug was caught.
bool catches(mutants::mutant m, verdict v, const std::string& message);

/// Verdicts that mean the harness, not the system, failed: a mutants run that meets one is void.
bool harness_failure(verdict v);

/// The bug lives in the Raft group (the Raft world and the cluster run it).
bool is_raft_mutant(mutants::mutant m);
/// The reader groups' planted bugs: their seeds run with groups (and client crashes).
bool is_group_mutant(mutants::mutant m);
/// The transactions' planted bugs: their seeds run with transaction processes.
bool is_txn_mutant(mutants::mutant m);

}  // namespace pravaha::sim
