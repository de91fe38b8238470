#pragma once

/// Module `schema`: everything that is persisted or crosses a process boundary.
///
/// - `errc`: the error enum (`schema/errc.hpp`).
/// - Strong ids: `segment_id` (epoch << 32 | number), `stream_uid`, `segment_key`, `writer_id`.
/// - Message structs with CAF inspectors (`append_block`, `read_request`, ...), event framing.
/// - Key-space math: routing-key hash and equal ranges (`schema/keyspace.hpp`).
/// - Name rules for scopes and streams (`schema/names.hpp`).
/// - Codecs for the Cap'n Proto persisted records (`schema/records.hpp`); generated capnp headers
///   never leave this module.
///
/// `schema/interfaces.hpp` is the module's second public header: the typed request interfaces
/// (`controller_api`, `segment_store_api`) that cross process boundaries.
///
/// May include: CAF core, capnp (in .cpp files only). No actors, no I/O.

#include "schema/atoms.hpp"
#include "schema/errc.hpp"
#include "schema/ids.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/names.hpp"
#include "schema/records.hpp"
#include "schema/types.hpp"
