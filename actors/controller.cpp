#include "actors/actors.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "storage/storage.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <memory>

namespace pravaha::actors {

namespace {

struct controller_state_t {
    controller_config cfg;
    std::shared_ptr<storage::controller_state> meta;
    static inline const char* name = "controller";
};

using controller_ptr = controller_actor::stateful_pointer<controller_state_t>;

// Runs one segment operation for every segment of `rec` in the container and delivers `done`
// (or the first error) to `rp` when all have answered.
template <class Atom, class Result>
void for_all_segments(controller_ptr self,
                      const stream_record& rec,
                      caf::typed_response_promise<Result> rp,
                      Result done) {
    auto remaining = std::make_shared<size_t>(rec.segments.size());
    auto failed = std::make_shared<bool>(false);
    if (rec.segments.empty()) {
        rp.deliver(std::move(done));
        return;
    }
    for (const auto& seg : rec.segments) {
        // await: metadata workflows run one at a time, in arrival order, so a delete can never
        // overtake the create it follows. Metadata operations are rare; appends never wait here.
        self->request(self->state.cfg.container, self->state.cfg.request_timeout, Atom::value,
                      segment_key{rec.uid, seg.id})
            .await(
                [=](bool) mutable {
                    if (--*remaining == 0 && !*failed) {
                        rp.deliver(done);
                    }
                },
                [=](caf::error& err) mutable {
                    if (!*failed) {
                        *failed = true;
                        rp.deliver(err);
                    }
                });
    }
}

controller_actor::behavior_type controller_impl(controller_ptr self,
                                                std::shared_ptr<storage::controller_state> meta,
                                                controller_config cfg) {
    self->state.cfg = cfg;
    self->state.meta = std::move(meta);
    // Re-issue idempotent segment operations a crash may have cut short: a stream record is
    // written before its segments are created, and a seal is recorded before segments are sealed.
    for (const auto& rec : self->state.meta->all_streams()) {
        for (const auto& seg : rec.segments) {
            segment_key key{rec.uid, seg.id};
            self->request(cfg.container, cfg.request_timeout, create_segment_atom::value, key)
                .then([](bool) {},
                      [key](caf::error& err) {
                          module_log("actors")->error(
                              "segment re-create failed segment={} error={}", to_string(key),
                              render_error(err));
                      });
            if (rec.state == stream_state::sealed) {
                self->request(cfg.container, cfg.request_timeout, seal_segment_atom::value, key)
                    .then([](bool) {},
                          [key](caf::error& err) {
                              module_log("actors")->error(
                                  "segment re-seal failed segment={} error={}", to_string(key),
                                  render_error(err));
                          });
            }
        }
    }
    auto& m = *self->state.meta;
    return {
        [=, &m](create_scope_atom, const std::string& scope) -> caf::result<bool> {
            if (auto err = m.create_scope(scope)) {
                return err;
            }
            module_log("actors")->info("scope created scope={}", scope);
            return true;
        },
        [=, &m](delete_scope_atom, const std::string& scope) -> caf::result<bool> {
            if (auto err = m.delete_scope(scope)) {
                return err;
            }
            module_log("actors")->info("scope deleted scope={}", scope);
            return true;
        },
        [=, &m](list_scopes_atom) -> caf::result<std::vector<std::string>> {
            return m.list_scopes();
        },
        [=, &m](create_stream_atom, const std::string& scope, const std::string& name,
                uint32_t segments) -> caf::result<stream_record> {
            auto now = self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
            auto rec = m.create_stream(scope, name, segments, now);
            if (!rec) {
                return std::move(rec.error());
            }
            module_log("actors")->info("stream created stream={}/{} uid={} segments={}", scope,
                                       name, rec->uid.value, segments);
            auto rp = self->make_response_promise<stream_record>();
            for_all_segments<create_segment_atom>(self, *rec, rp, *rec);
            return rp;
        },
        [=, &m](list_streams_atom,
                const std::string& scope) -> caf::result<std::vector<std::string>> {
            auto r = m.list_streams(scope);
            if (!r) {
                return std::move(r.error());
            }
            return std::move(*r);
        },
        [=, &m](get_stream_atom, const std::string& scope,
                const std::string& name) -> caf::result<stream_record> {
            auto r = m.get_stream(scope, name);
            if (!r) {
                return std::move(r.error());
            }
            return std::move(*r);
        },
        [=, &m](seal_stream_atom, const std::string& scope,
                const std::string& name) -> caf::result<stream_record> {
            auto rec = m.seal_stream(scope, name);
            if (!rec) {
                return std::move(rec.error());
            }
            module_log("actors")->info("stream sealed stream={}/{}", scope, name);
            auto rp = self->make_response_promise<stream_record>();
            for_all_segments<seal_segment_atom>(self, *rec, rp, *rec);
            return rp;
        },
        [=, &m](delete_stream_atom, const std::string& scope,
                const std::string& name) -> caf::result<bool> {
            auto rec = m.get_stream(scope, name);
            if (!rec) {
                return std::move(rec.error());
            }
            if (rec->state != stream_state::sealed) {
                return caf::make_error(
                    errc::stream_not_sealed,
                    "stream " + scope + "/" + name + " must be sealed before delete");
            }
            // Segments first, then the record: a crash in between leaves a sealed stream whose
            // delete can simply be repeated (segment deletes are idempotent).
            auto rp = self->make_response_promise<bool>();
            auto remaining = std::make_shared<size_t>(rec->segments.size());
            auto failed = std::make_shared<bool>(false);
            auto finish = [=, &m]() mutable {
                if (auto err = m.delete_stream(scope, name)) {
                    rp.deliver(err);
                    return;
                }
                module_log("actors")->info("stream deleted stream={}/{}", scope, name);
                rp.deliver(true);
            };
            if (rec->segments.empty()) {
                finish();
                return rp;
            }
            for (const auto& seg : rec->segments) {
                self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                              delete_segment_atom::value, segment_key{rec->uid, seg.id})
                    .await(
                        [=](bool) mutable {
                            if (--*remaining == 0 && !*failed) {
                                finish();
                            }
                        },
                        [=](caf::error& err) mutable {
                            if (!*failed) {
                                *failed = true;
                                rp.deliver(err);
                            }
                        });
            }
            return rp;
        },
        [=, &m](stream_info_atom, const std::string& scope,
                const std::string& name) -> caf::result<stream_info> {
            auto rec = m.get_stream(scope, name);
            if (!rec) {
                return std::move(rec.error());
            }
            auto rp = self->make_response_promise<stream_info>();
            auto info = std::make_shared<stream_info>();
            info->record = *rec;
            for (const auto& seg : rec->segments) {
                info->segments.push_back({seg.id, seg.key_start, seg.key_end, 0, false});
            }
            auto remaining = std::make_shared<size_t>(rec->segments.size());
            auto failed = std::make_shared<bool>(false);
            if (rec->segments.empty()) {
                return *info;
            }
            for (size_t i = 0; i < rec->segments.size(); ++i) {
                self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                              segment_status_atom::value,
                              segment_key{rec->uid, rec->segments[i].id})
                    .then(
                        [=](const segment_status& s) mutable {
                            info->segments[i].length = s.length;
                            info->segments[i].sealed = s.sealed;
                            if (--*remaining == 0 && !*failed) {
                                rp.deliver(*info);
                            }
                        },
                        [=](caf::error& err) mutable {
                            if (!*failed) {
                                *failed = true;
                                rp.deliver(err);
                            }
                        });
            }
            return rp;
        },
    };
}

}  // namespace

caf::expected<controller_actor> spawn_controller(caf::actor_system& sys,
                                                 const controller_config& cfg) {
    PRAVAHA_ASSERT(cfg.store != nullptr, "controller needs a store");
    auto meta = std::make_shared<storage::controller_state>(*cfg.store);
    if (auto err = meta->load()) {
        return err;
    }
    if (cfg.detached) {
        return sys.spawn<caf::detached>(controller_impl, meta, cfg);
    }
    return sys.spawn(controller_impl, meta, cfg);
}

}  // namespace pravaha::actors
