#pragma once

// A run's history written to a file and checked again without the world
// (`pravaha-sim replay --dump-history FILE`, `pravaha-sim check-history FILE`): the writes with
// their outcomes and times, the order of acknowledgements, every input the online checkers saw
// (reads, caught-up answers, writer reopenings, reader restarts) in order, and what the audit
// read. The same checkers (sim/checkers.hpp) judge it, so a failing seed's history can be
// examined, cut down and checked by hand.

#include "sim/checkers.hpp"
#include "sim/history.hpp"
#include "sim/payload.hpp"
#include "sim/world.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pravaha::sim {

/// One input of an online checker.
struct journal_entry {
    enum class kind : uint8_t { read, caught_up, reopen, view_reset };
    kind type = kind::read;
    uint32_t client = 0;
    // read
    segment_ref segment;  ///< (stream uid, segment id)
    int64_t segment_id = 0;
    int64_t offset = 0;
    std::optional<event_id> event;  ///< the parsed payload; none for foreign bytes
    uint64_t hash = 0;
    // caught_up (stream, at = asked_at), reopen (at = opened_at, last, next_seq)
    uint32_t stream = 0;
    int64_t at = 0;
    int64_t last = 0;
    uint64_t next_seq = 0;
};

struct recorded_run {
    std::string header;
    history writes;
    std::vector<journal_entry> journal;
    bool audited = false;  ///< the run reached its audit; `stored` is what it read
    std::map<writer_seq, uint32_t> stored;
};

/// Writes `run` to `path`. Returns an error text, empty on success.
std::string write_history(const std::string& path, const recorded_run& run);

/// Reads a file written by write_history. Errors: a text naming the line that is wrong.
std::optional<recorded_run> read_history(const std::string& path, std::string& error);

/// Runs the checkers over `run` as the world ran them: each journal entry in order, then the
/// final check if the run was audited. The first finding, or none.
finding check_recorded(const recorded_run& run);

/// `pravaha-sim check-history FILE`: reads, checks and prints. Returns the exit code (0 pass,
/// 129 correctness, 2 a file that is not a history).
int check_history_command(const std::string& path);

}  // namespace pravaha::sim
