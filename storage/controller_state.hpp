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
    explicit controller_state(log_store& store);

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
    std::set<std::string> scopes_;
    std::map<std::pair<std::string, std::string>, stream_record> streams_;
    uint64_t next_uid_ = 1;
};

}  // namespace pravaha::storage
