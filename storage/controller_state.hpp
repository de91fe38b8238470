#pragma once

#include "schema/types.hpp"
#include "storage/log_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pravaha::storage {

/// The controller's metadata: scopes and streams. Every change is written with an fsync before
/// the call returns, so an acknowledged metadata change survives a crash.
///
/// Lifecycle: construct, `load()`, then any calls. Owned by one (detached) actor.
class controller_state {
public:
    /// `replicated`: the controller is a Raft group (group 0). Changes then go through
    /// `apply` on every replica and are written unsynced together with the applied index; the
    /// Raft log entry, fsynced on a majority, is what makes them durable.
    explicit controller_state(log_store& store, bool replicated = false);

    /// A metadata change as a Raft log entry.
    struct command {
        enum class kind : uint8_t {
            create_scope = 1,
            delete_scope = 2,
            create_stream = 3,
            seal_stream = 4,
            delete_stream = 5,
        };
        kind type = kind::create_scope;
        std::string scope;
        std::string name;
        uint32_t segments = 0;
        int64_t now_ms = 0;
    };
    static std::string encode(const command& c);
    /// Errors: malformed_message.
    [[nodiscard]] static caf::expected<command> decode(std::string_view bytes);

    /// What a command did: its error for the client (e.g. stream_exists), or the record.
    struct outcome {
        caf::error error;
        stream_record record;
    };
    /// Applies committed entry `index` (replicated mode). A storage error is returned as the
    /// error of the call: the owner must stop.
    [[nodiscard]] caf::expected<outcome> apply(uint64_t index, const command& c);
    /// Records an applied entry that changes nothing (a Raft leader's no-op).
    [[nodiscard]] caf::error apply_noop(uint64_t index);
    uint64_t applied_index() const { return applied_index_; }

    /// All metadata at the applied index, for a Raft follower behind the compacted log.
    [[nodiscard]] caf::expected<std::string> snapshot() const;
    /// Adds to `b` the replacement of all metadata by `data` applied through `index`; after
    /// `b` is written, call `load()`. Errors: malformed_message (nothing added).
    [[nodiscard]] caf::error stage_install(std::string_view data, uint64_t index, write_batch& b);

    /// Loads all scopes and stream records. Errors: storage_io, malformed_message.
    [[nodiscard]] caf::error load();

    [[nodiscard]] caf::error create_scope(const std::string& scope);
    /// Errors: scope_not_found, scope_not_empty.
    [[nodiscard]] caf::error delete_scope(const std::string& scope);
    std::vector<std::string> list_scopes() const;

    /// Creates an active stream of `segments` equal ranges in epoch 0 with a fresh uid.
    /// Errors: invalid_name, invalid_argument, scope_not_found, stream_exists, storage_io.
    [[nodiscard]] caf::expected<stream_record> create_stream(const std::string& scope,
                                                             const std::string& name,
                                                             uint32_t segments,
                                                             int64_t now_ms);
    [[nodiscard]] caf::expected<std::vector<std::string>> list_streams(
        const std::string& scope) const;
    [[nodiscard]] caf::expected<stream_record> get_stream(const std::string& scope,
                                                          const std::string& name) const;
    /// Marks the stream sealed (idempotent). The caller then seals its segments.
    [[nodiscard]] caf::expected<stream_record> seal_stream(const std::string& scope,
                                                           const std::string& name);
    /// Removes the record of a sealed stream. Errors: stream_not_found, stream_not_sealed.
    [[nodiscard]] caf::error delete_stream(const std::string& scope, const std::string& name);

    /// Every stream record (for re-issuing idempotent segment operations after a restart).
    std::vector<stream_record> all_streams() const;

private:
    caf::error persist(write_batch& batch);

    log_store& store_;
    bool replicated_;
    uint64_t applied_index_ = 0;
    uint64_t applying_index_ = 0;  // the entry being applied (replicated mode)
    std::set<std::string> scopes_;
    std::map<std::pair<std::string, std::string>, stream_record> streams_;
    uint64_t next_uid_ = 1;
};

}  // namespace pravaha::storage
