#include "runtime/gateway_rpc.hpp"

#include "schema/logging.hpp"
#include "schema/metrics.hpp"

#include <capnp/dynamic.h>

#include <map>
#include <utility>

namespace pravaha::runtime::gw {

void set_error(rpc::Error::Builder out, const caf::error& err) {
    if (!err) {
        return;
    }
    auto code = code_of(err);
    if (code == errc::none) {
        code = err == caf::sec::request_timeout ? errc::timeout : errc::unavailable;
    }
    out.setCode(static_cast<uint8_t>(code));
    out.setName(to_string(code));
    out.setMessage(render_error(err));
}

void set_error(rpc::Error::Builder out, errc code, const std::string& what) {
    set_error(out, caf::make_error(code, what));
}

namespace {

// The method of `schema` or of an interface it extends.
kj::Maybe<capnp::InterfaceSchema::Method> method_of(capnp::InterfaceSchema schema,
                                                    uint64_t interface_id,
                                                    uint16_t method_id) {
    if (schema.getProto().getId() == interface_id) {
        auto methods = schema.getMethods();
        if (method_id < methods.size()) {
            return methods[method_id];
        }
        return nullptr;
    }
    for (auto super : schema.getSuperclasses()) {
        KJ_IF_MAYBE (m, method_of(super, interface_id, method_id)) {
            return *m;
        }
    }
    return nullptr;
}

// What a completed call's results say: ok, or the name of the error they carry.
std::string result_of(capnp::InterfaceSchema::Method method,
                      capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer>& context) {
    auto results = context.getResults().getAs<capnp::DynamicStruct>(method.getResultType());
    KJ_IF_MAYBE (field, results.getSchema().findFieldByName("error")) {
        if (results.has(*field)) {
            auto error = results.get(*field).as<capnp::DynamicStruct>();
            if (error.get("code").as<uint8_t>() != 0) {
                return text(error.get("name").as<capnp::Text>());
            }
        }
    }
    return "ok";
}

// The counter of (method, result), looked up in the registry once per gateway thread (the
// registry's mutex is held while a scrape runs; registry counters are never removed).
metrics::counter& calls(const std::string& method, const std::string& result) {
    thread_local std::map<std::pair<std::string, std::string>, metrics::counter*> known;
    auto& c = known[{method, result}];
    if (c == nullptr) {
        c = &metrics::global().counter_of(
            "pravaha_rpc_calls_total",
            "Cap'n Proto RPC calls completed, by method (Interface.method) and result (ok, the "
            "error's name, or exception).",
            {{"method", method}, {"result", result}});
    }
    return *c;
}

}  // namespace

kj::Promise<void> count_call(capnp::InterfaceSchema schema,
                             uint64_t interface_id,
                             uint16_t method_id,
                             capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context,
                             kj::Promise<void> done) {
    KJ_IF_MAYBE (found, method_of(schema, interface_id, method_id)) {
        auto m = *found;
        auto name = text(m.getContainingInterface().getShortDisplayName()) + "." +
                    text(m.getProto().getName());
        return done.then([m, name, context]() mutable { calls(name, result_of(m, context)).inc(); },
                         [name](kj::Exception&& e) {
                             calls(name, "exception").inc();
                             kj::throwFatalException(kj::mv(e));
                         });
    }
    return done;  // not a method of the interface: the dispatch itself fails
}

std::string text(capnp::Text::Reader t) {
    return std::string(t.cStr(), t.size());
}

void fill_policy(rpc::ScalingPolicy::Builder out, const scaling_policy& p) {
    switch (p.type) {
        case scale_type::fixed:
            out.setType("fixed");
            break;
        case scale_type::by_events:
            out.setType("events");
            break;
        case scale_type::by_kbytes:
            out.setType("kbytes");
            break;
    }
    out.setTarget(p.target);
    out.setFactor(p.factor);
    out.setMinSegments(p.min_segments);
}

caf::expected<scaling_policy> read_policy(rpc::ScalingPolicy::Reader in) {
    scaling_policy p;
    auto type = text(in.getType());
    if (type == "events") {
        p.type = scale_type::by_events;
    } else if (type == "kbytes") {
        p.type = scale_type::by_kbytes;
    } else if (type != "fixed") {
        return caf::make_error(errc::invalid_argument,
                               "scaling policy type must be fixed, "
                               "events or kbytes, not '" +
                                   type + "'");
    }
    p.target = in.getTarget();
    p.factor = in.getFactor();
    p.min_segments = in.getMinSegments();
    return p;
}

void fill_history(capnp::List<rpc::EpochInfo>::Builder out, const std::vector<epoch_info>& h) {
    for (size_t e = 0; e < h.size(); ++e) {
        auto ep = out[static_cast<unsigned>(e)];
        ep.setEpoch(h[e].epoch);
        ep.setCreatedMs(h[e].created_ms);
        ep.setRolled(h[e].rolled);
        auto segs = ep.initSegmentInfos(static_cast<unsigned>(h[e].segments.size()));
        for (size_t i = 0; i < h[e].segments.size(); ++i) {
            const auto& src = h[e].segments[i];
            auto s = segs[static_cast<unsigned>(i)];
            s.setId(src.range.id.value);
            s.setKeyStart(src.range.key_start);
            s.setKeyEnd(src.range.key_end);
            s.setSealedLength(src.sealed_length);
            auto preds = s.initPredecessors(static_cast<unsigned>(src.predecessors.size()));
            for (size_t k = 0; k < src.predecessors.size(); ++k) {
                preds.set(static_cast<unsigned>(k), src.predecessors[k].value);
            }
        }
    }
}

void fill_info(rpc::StreamInfo::Builder out, const stream_record& rec) {
    out.setScope(rec.scope);
    out.setName(rec.name);
    out.setSealed(rec.state == stream_state::sealed);
    out.setEpoch(rec.epoch);
    fill_policy(out.initPolicy(), rec.policy);
    auto segs = out.initSegmentInfos(static_cast<unsigned>(rec.segments.size()));
    for (size_t i = 0; i < rec.segments.size(); ++i) {
        auto s = segs[static_cast<unsigned>(i)];
        s.setId(rec.segments[i].id.value);
        s.setKeyStart(rec.segments[i].key_start);
        s.setKeyEnd(rec.segments[i].key_end);
    }
}

void fill_info(rpc::StreamInfo::Builder out, const stream_info& info) {
    fill_info(out, info.record);
    auto segs = out.getSegmentInfos();
    for (size_t i = 0; i < info.segments.size() && i < segs.size(); ++i) {
        auto s = segs[static_cast<unsigned>(i)];
        s.setId(info.segments[i].id.value);
        s.setLength(info.segments[i].length);
        s.setSealed(info.segments[i].sealed);
    }
}

void fill_list(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& names) {
    for (size_t i = 0; i < names.size(); ++i) {
        out.set(static_cast<unsigned>(i), names[i]);
    }
}

void fill_position(capnp::List<rpc::SegmentPosition>::Builder out,
                   const client::detail::start_offsets& position) {
    unsigned i = 0;
    for (const auto& [seg, offset] : position) {
        out[i].setSegmentId(seg);
        out[i].setOffset(offset);
        ++i;
    }
}

writer_id writer_id_of(std::string_view name) {
    auto fnv = [&](uint64_t h) {
        for (unsigned char c : name) {
            h = (h ^ c) * 0x100000001b3ULL;
        }
        return h;
    };
    return writer_id{fnv(0xcbf29ce484222325ULL), fnv(0x84222325cbf29ce4ULL)};
}

}  // namespace pravaha::runtime::gw
