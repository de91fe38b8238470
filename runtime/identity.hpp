#pragma once

/// Part of module `runtime` (internal): the identity record of a data directory, the file
/// `<data-dir>/identity` written once when the directory is initialised (like Kafka's
/// meta.properties). It says whose the directory is: standalone, or which node of which cluster
/// (the cluster id, the container count and the peer list it was created with). Every start
/// compares it with the flags before anything in the directory is opened for writing.
///
/// The cluster id is derived from what makes the cluster (its container count and its members'
/// ids and addresses), so every member computes the same one without talking to the others, as
/// etcd derives its cluster id from the initial membership; members compare it when they
/// connect (actors: `cluster_config::cluster_id`).

#include "runtime/runtime.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace pravaha::runtime {

struct data_identity {
    uint32_t format = 1;
    std::string mode;  ///< "standalone" or "cluster"
    std::string cluster_id;
    uint32_t node_id = 0;  ///< 0 on a standalone node
    uint32_t containers = 1;
    std::string peers;  ///< ID@HOST:PORT,... in ascending id order; empty on a standalone node
};

/// What the flags say the directory is (a standalone node gets a random cluster id when its
/// directory is initialised; until then it is empty).
data_identity identity_of(const node_options& opts);

/// The cluster id of `containers` segment containers on these members (16 hex digits).
std::string cluster_id_of(uint32_t containers, const std::string& peers);

/// The record's text and back. Errors of `parse_identity`: corrupt_data (what is wrong).
std::string format_identity(const data_identity& id);
[[nodiscard]] caf::expected<data_identity> parse_identity(const std::string& text);

/// The record of `data_dir`, if it has one. Errors: corrupt_data (unreadable or malformed),
/// storage_io.
[[nodiscard]] caf::expected<std::optional<data_identity>> read_identity(const std::string& dir);

/// How a start found its data directory.
enum class identity_outcome {
    matched,      ///< the record says what the flags say
    initialised,  ///< the directory was empty (or missing): created with a new record
    adopted,      ///< it held a store but no record (an older version): the record was written
};

/// Compares the directory with the flags before anything in it is opened for writing, and
/// initialises or adopts it. Errors: invalid_argument, one line naming the field, the stored
/// value and the given one ("data directory D belongs to node 3 of cluster 7f3a..., not node
/// 2"), also when the directory holds something that is not Pravaha's (the node exits with code
/// 2 and nothing is written); corrupt_data (the record is damaged); storage_io.
[[nodiscard]] caf::expected<identity_outcome> check_identity(const node_options& opts,
                                                             data_identity& stored);

}  // namespace pravaha::runtime
