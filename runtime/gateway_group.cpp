#include "runtime/gateway_rpc.hpp"
#include "schema/keyspace.hpp"
#include "schema/names.hpp"

#include <memory>

namespace pravaha::runtime::gw {

namespace {

// "scope/stream" of the group's stream with uid `uid` ("?" when none of its streams has it).
std::string stream_name_of(const group_info& g, stream_uid uid) {
    for (const auto& st : g.config.streams) {
        if (st.start.stream == uid) {
            return st.scope + "/" + st.name;
        }
    }
    return "?";
}

void fill_segments(capnp::List<rpc::GroupSegment>::Builder out,
                   const group_info& g,
                   const std::vector<group_offset>& xs) {
    for (unsigned i = 0; i < xs.size(); ++i) {
        out[i].setStream(stream_name_of(g, xs[i].key.stream));
        out[i].setSegmentId(xs[i].key.segment.value);
        out[i].setOffset(xs[i].offset);
    }
}

void fill_cuts(capnp::List<capnp::Text>::Builder out, const std::vector<stream_cut>& cuts) {
    for (unsigned i = 0; i < cuts.size(); ++i) {
        out.set(i, to_string(cuts[i]));
    }
}

// A group's streams as created: a start or end cut of "" (or "head") names no segment; "tail"
// is asked of the node before the group is created (`tails` lists their indexes).
struct parsed_config {
    group_config config;
    std::vector<size_t> tails;
};

caf::expected<parsed_config> read_config(rpc::ReaderGroupConfig::Reader in) {
    parsed_config out;
    out.config.lease_ms = in.getLeaseMs();
    out.config.checkpoint_interval_ms = in.getCheckpointIntervalMs();
    for (auto s : in.getStreams()) {
        group_stream st;
        st.scope = text(s.getScope());
        st.name = text(s.getStream());
        auto start = text(s.getStartCut());
        auto end = text(s.getEndCut());
        if (start == "tail") {
            out.tails.push_back(out.config.streams.size());
        } else if (!start.empty() && start != "head") {
            auto cut = parse_stream_cut(start);
            if (!cut) {
                return std::move(cut.error());
            }
            st.start = std::move(*cut);
        }
        if (!end.empty()) {
            auto cut = parse_stream_cut(end);
            if (!cut) {
                return std::move(cut.error());
            }
            st.end = std::move(*cut);
        }
        out.config.streams.push_back(std::move(st));
    }
    return out;
}

// Asks the node for the tail cut of every stream in `tails` (from `i` on), then creates the
// group.
void create_in(caf::event_based_actor* self,
               const group_parts& parts,
               const std::string& scope,
               const std::string& name,
               std::shared_ptr<parsed_config> cfg,
               size_t i,
               const reply_fn<group_info>& done) {
    auto fail = [done](caf::error& err) { done(outcome<group_info>{{}, std::move(err)}); };
    if (i == cfg->tails.size()) {
        self->request(parts.node, parts.timeout, group_create_atom::value, scope, name, cfg->config)
            .then(
                [done](group_info& g) {
                    done(outcome<group_info>{std::move(g), {}});
                },
                fail);
        return;
    }
    auto& st = cfg->config.streams[cfg->tails[i]];
    self->request(parts.node, parts.timeout, stream_cut_atom::value, st.scope, st.name, false)
        .then(
            [=](stream_cut& tail) {
                cfg->config.streams[cfg->tails[i]].start = std::move(tail);
                create_in(self, parts, scope, name, cfg, i + 1, done);
            },
            fail);
}

class reader_group_impl final : public counted<rpc::ReaderGroup::Server> {
public:
    reader_group_impl(group_parts parts, std::string scope, std::string name)
        : parts_(std::move(parts)), scope_(std::move(scope)), name_(std::move(name)) {}

    kj::Promise<void> info(InfoContext ctx) override {
        return answer(ask_node<group_info>(parts_.bridge, parts_.node, parts_.timeout,
                                           group_info_atom::value, scope_, name_),
                      ctx, [](auto res, auto& g) { fill_group_info(res.initInfo(), g); });
    }

    kj::Promise<void> checkpoint(CheckpointContext ctx) override {
        // Waits for the readers: as long as the retry timeout of a stream manager's call.
        return answer(
            ask_node<std::vector<stream_cut>>(parts_.bridge, parts_.node, std::chrono::seconds(60),
                                              group_checkpoint_atom::value, scope_, name_,
                                              text(ctx.getParams().getName())),
            ctx, [](auto res, auto& cuts) {
                fill_cuts(res.initCuts(static_cast<unsigned>(cuts.size())), cuts);
            });
    }

    kj::Promise<void> reset(ResetContext ctx) override {
        auto p = ctx.getParams();
        std::vector<stream_cut> cuts;
        for (auto t : p.getCuts()) {
            auto cut = parse_stream_cut(text(t));
            if (!cut) {
                return answer(refused<uint32_t>(std::move(cut.error())), ctx, nothing_to_fill);
            }
            cuts.push_back(std::move(*cut));
        }
        // Through the gateway's manager: it reads the generation first and resets that one, so
        // that its retries do not reset the group twice.
        auto manager = parts_.manager;
        auto scope = scope_;
        auto name = name_;
        auto checkpoint = text(p.getCheckpoint());
        return answer(
            on_bridge<uint32_t>(parts_.bridge,
                                [=](caf::event_based_actor* self, reply_fn<uint32_t> done) {
                                    self->request(manager, caf::infinite, group_reset_atom::value,
                                                  scope, name, checkpoint, cuts, UINT32_MAX)
                                        .then(
                                            [done](uint32_t gen) {
                                                done(outcome<uint32_t>{gen, {}});
                                            },
                                            [done](caf::error& err) {
                                                done(outcome<uint32_t>{0, std::move(err)});
                                            });
                                }),
            ctx, [](auto res, uint32_t gen) { res.setGeneration(gen); });
    }

    kj::Promise<void> openReader(OpenReaderContext ctx) override {
        client::group_reader_options opts;
        opts.nonce = client::detail::fresh_writer_id().lo | 1;  // one per reader capability
        opts.exit_on_give_up = false;
        auto manager = parts_.manager;
        auto scope = scope_;
        auto group = name_;
        auto reader = text(ctx.getParams().getName());
        auto bridge = parts_.bridge;
        return answer(on_bridge<owned_actor>(
                          parts_.bridge,
                          [=](caf::event_based_actor* self, reply_fn<owned_actor> done) {
                              self->request(manager, caf::infinite,
                                            client::open_group_reader_atom::value, scope, group,
                                            reader, opts)
                                  .then(
                                      [done](client::reader_actor& r) {
                                          done(outcome<owned_actor>{
                                              owned_actor{caf::actor_cast<caf::actor>(r)}, {}});
                                      },
                                      [done](caf::error& err) {
                                          done(outcome<owned_actor>{{}, std::move(err)});
                                      });
                          }),
                      ctx, [bridge](auto res, owned_actor& r) {
                          res.setReader(make_reader_capability(bridge, std::move(r), {}, true));
                      });
    }

private:
    group_parts parts_;
    std::string scope_;
    std::string name_;
};

}  // namespace

void fill_group_info(rpc::ReaderGroupInfo::Builder out, const group_info& g) {
    out.setScope(g.scope);
    out.setName(g.name);
    out.setGeneration(g.generation);
    auto cfg = out.initConfig();
    cfg.setLeaseMs(g.config.lease_ms);
    cfg.setCheckpointIntervalMs(g.config.checkpoint_interval_ms);
    auto streams = cfg.initStreams(static_cast<unsigned>(g.config.streams.size()));
    for (unsigned i = 0; i < g.config.streams.size(); ++i) {
        const auto& st = g.config.streams[i];
        streams[i].setScope(st.scope);
        streams[i].setStream(st.name);
        streams[i].setStartCut(to_string(st.start));
        streams[i].setEndCut(st.end.segments.empty() ? std::string{} : to_string(st.end));
    }
    auto readers = out.initReaders(static_cast<unsigned>(g.readers.size()));
    for (unsigned i = 0; i < g.readers.size(); ++i) {
        const auto& r = g.readers[i];
        readers[i].setName(r.name);
        readers[i].setUnreadBytes(r.unread_bytes);
        fill_segments(readers[i].initSegments(static_cast<unsigned>(r.segments.size())), g,
                      r.segments);
    }
    fill_segments(out.initUnassigned(static_cast<unsigned>(g.unassigned.size())), g, g.unassigned);
    std::vector<group_offset> future;
    for (const auto& k : g.future) {
        future.push_back(group_offset{k, 0});
    }
    fill_segments(out.initFuture(static_cast<unsigned>(future.size())), g, future);
    auto cps = out.initCheckpoints(static_cast<unsigned>(g.checkpoints.size()));
    for (unsigned i = 0; i < g.checkpoints.size(); ++i) {
        const auto& cp = g.checkpoints[i];
        cps[i].setName(cp.name);
        cps[i].setComplete(cp.complete);
        cps[i].setSilent(cp.silent);
        cps[i].setForced(cp.forced);
        cps[i].setCreatedMs(cp.created_ms);
        fill_cuts(cps[i].initCuts(static_cast<unsigned>(cp.cuts.size())), cp.cuts);
    }
    out.setUnreadBytes(g.unread_bytes);
}

kj::Own<rpc::ReaderGroup::Server> make_group_capability(group_parts parts,
                                                        std::string scope,
                                                        std::string name) {
    return kj::heap<reader_group_impl>(std::move(parts), std::move(scope), std::move(name));
}

kj::Promise<outcome<group_info>> create_group(const group_parts& parts,
                                              const std::string& scope,
                                              const std::string& name,
                                              rpc::ReaderGroupConfig::Reader in) {
    auto cfg = read_config(in);
    if (!cfg) {
        return refused<group_info>(std::move(cfg.error()));
    }
    auto shared = std::make_shared<parsed_config>(std::move(*cfg));
    return on_bridge<group_info>(
        parts.bridge,
        [parts, scope, name, shared](caf::event_based_actor* self, reply_fn<group_info> done) {
            create_in(self, parts, scope, name, shared, 0, done);
        });
}

}  // namespace pravaha::runtime::gw
