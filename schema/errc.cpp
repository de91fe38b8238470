#include "schema/errc.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace pravaha {

const char* to_string(errc code) {
    switch (code) {
        case errc::none:
            return "none";
        case errc::invalid_name:
            return "invalid_name";
        case errc::invalid_argument:
            return "invalid_argument";
        case errc::scope_exists:
            return "scope_exists";
        case errc::scope_not_found:
            return "scope_not_found";
        case errc::scope_not_empty:
            return "scope_not_empty";
        case errc::stream_exists:
            return "stream_exists";
        case errc::stream_not_found:
            return "stream_not_found";
        case errc::stream_sealed:
            return "stream_sealed";
        case errc::stream_not_sealed:
            return "stream_not_sealed";
        case errc::segment_not_found:
            return "segment_not_found";
        case errc::segment_sealed:
            return "segment_sealed";
        case errc::event_too_large:
            return "event_too_large";
        case errc::storage_io:
            return "storage_io";
        case errc::malformed_message:
            return "malformed_message";
        case errc::corrupt_data:
            return "corrupt_data";
        case errc::timeout:
            return "timeout";
        case errc::unavailable:
            return "unavailable";
        case errc::bad_offset:
            return "bad_offset";
        case errc::overloaded:
            return "overloaded";
        case errc::event_number_gap:
            return "event_number_gap";
        case errc::writer_fenced:
            return "writer_fenced";
        case errc::not_leader:
            return "not_leader";
        case errc::storage_full:
            return "storage_full";
        case errc::conflict:
            return "conflict";
        case errc::group_not_found:
            return "group_not_found";
        case errc::group_exists:
            return "group_exists";
        case errc::reader_exists:
            return "reader_exists";
        case errc::reader_offline:
            return "reader_offline";
        case errc::transaction_not_found:
            return "transaction_not_found";
        case errc::transaction_not_open:
            return "transaction_not_open";
        case errc::transaction_aborted:
            return "transaction_aborted";
        case errc::transaction_committed:
            return "transaction_committed";
        case errc::transaction_limit:
            return "transaction_limit";
        case errc::transaction_too_large:
            return "transaction_too_large";
        case errc::unauthenticated:
            return "unauthenticated";
        case errc::permission_denied:
            return "permission_denied";
    }
    return "unknown";
}

errc code_of(const caf::error& err) {
    if (!err || err.category() != caf::atom("pravaha")) {
        return errc::none;
    }
    return static_cast<errc>(err.code());
}

caf::error not_leader_error(uint32_t leader) {
    return caf::make_error(errc::not_leader, leader);
}

uint32_t leader_hint(const caf::error& err) {
    if (code_of(err) != errc::not_leader || !err.context().match_elements<uint32_t>()) {
        return 0;
    }
    return err.context().get_as<uint32_t>(0);
}

std::string render_error(const caf::error& err) {
    if (!err) {
        return "no error";
    }
    std::string out;
    if (err.category() == caf::atom("pravaha")) {
        out = to_string(static_cast<errc>(err.code()));
    } else if (err.category() == caf::atom("system")) {
        auto code = static_cast<caf::sec>(err.code());
        if (code == caf::sec::request_timeout) {
            out = "timeout";
        } else if (code == caf::sec::request_receiver_down ||
                   code == caf::sec::cannot_connect_to_node) {
            out = "unavailable";
        } else {
            out = caf::to_string(code);
        }
    } else {
        out = caf::to_string(err.category()) + "." + std::to_string(err.code());
    }
    const auto& ctx = err.context();
    if (!ctx.empty() && ctx.match_elements<std::string>()) {
        out += ": ";
        out += ctx.get_as<std::string>(0);
    } else if (code_of(err) == errc::not_leader && ctx.match_elements<uint32_t>()) {
        auto leader = ctx.get_as<uint32_t>(0);
        out += leader == 0 ? ": leader unknown" : ": leader is node " + std::to_string(leader);
    }
    return out;
}

void ignore_error(const caf::error&, const char*) {
    // Deliberately empty: callers document why the error does not matter. The call site is the
    // greppable record of the decision.
}

}  // namespace pravaha
