// The controller's transaction workflows (docs/transactions_plan.md) around the txn_* commands
// of storage/controller_txns.cpp: begin (the command, then the transaction segments), commit
// (the command, then each transaction segment merged into the current segment of its parent's
// range, transactions of a stream in commit order, then done; or, when a scale sealed a
// parent's range, a roll: storage/controller_roll.cpp), abort (the command, then the segments
// deleted, then done). Every step is idempotent; the repair resumes them after a crash or a
// change of leader.

#include "actors/controller_internal.hpp"
#include "actors/transaction_actor.hpp"
#include "schema/mutants.hpp"

#include <caf/send.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace pravaha::actors::ctl {

namespace {

int64_t now_of(controller_ptr self) {
    return self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
}

// Sends one request per transaction segment (`send(i, ok, fail)`), then `then` (all_then).
template <class Send>
void each_segment_then(const txn_record& t,
                       Send send,
                       std::function<void(const caf::error&)> then) {
    all_then(t.segments.size(), std::move(send), std::move(then));
}

void create_segments(controller_ptr self,
                     const txn_record& t,
                     std::function<void(const caf::error&)> then) {
    auto limit = self->state.meta->limits().segment_bytes;
    each_segment_then(
        t,
        [self, t, limit](size_t i, auto ok, auto fail) {
            self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                          create_txn_segment_atom::value, t.segments[i].key, limit)
                .then([ok](bool) { ok(); }, [fail](caf::error& e) { fail(e); });
        },
        std::move(then));
}

void delete_segments(controller_ptr self,
                     const txn_record& t,
                     std::function<void(const caf::error&)> then) {
    each_segment_then(
        t,
        [self, t](size_t i, auto ok, auto fail) {
            self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                          delete_segment_atom::value, t.segments[i].key)
                .then([ok](bool) { ok(); }, [fail](caf::error& e) { fail(e); });
        },
        std::move(then));
}

// Merges every transaction segment into its target (controller_state::commit_step_of; one op
// each: the target shows its part whole or not at all; a repeat answers from the tombstone).
void merge_segments(controller_ptr self,
                    const txn_record& t,
                    const std::vector<segment_key>& targets,
                    std::function<void(const caf::error&)> then) {
    PRAVAHA_ASSERT(targets.size() == t.segments.size(), "transaction {}: {} targets for {} parts",
                   txn_id_text(t.id), targets.size(), t.segments.size());
    each_segment_then(
        t,
        [self, t, targets](size_t i, auto ok, auto fail) {
            self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                          merge_segment_atom::value, targets[i], t.segments[i].key)
                .then([ok](int64_t) { ok(); }, [fail](caf::error& e) { fail(e); });
        },
        std::move(then));
}

// `t` as clients are told: committed once every part is merged (merged_txns), before its
// `txn_done` is recorded.
txn_record reported(controller_ptr self, txn_record t) {
    if (t.state == txn_state::committing && self->state.merged_txns.count(t.id) != 0) {
        t.state = txn_state::committed;
        t.completed_ms = std::max<int64_t>(now_of(self), 1);
    }
    return t;
}

// Answers the commit and abort requests of transaction `id` (its final record, or `err`).
void answer_txn_waiters(controller_ptr self,
                        uint64_t id,
                        const caf::error& err,
                        const txn_record* t) {
    auto it = self->state.txn_waiters.find(id);
    if (it == self->state.txn_waiters.end()) {
        return;
    }
    auto waiters = std::move(it->second);
    self->state.txn_waiters.erase(it);
    for (auto& rp : waiters) {
        if (err) {
            rp.deliver(err);
        } else {
            rp.deliver(*t);
        }
    }
}

// Records that `t` ended (committed or aborted), answers its waiters, then calls `then`.
void finish(controller_ptr self, const txn_record& t, std::function<void(const caf::error&)> then) {
    auto c = command::of(command::kind::txn_done, t.scope, t.stream, 0, now_of(self));
    c.txn = t.id;
    commit(self, c, [self, id = t.id, then](const caf::error& err, const outcome* out) {
        auto e = err ? err : out->error;
        if (!e) {
            answer_txn_waiters(self, id, {}, &out->txn);
        }
        then(e);
    });
}

void warn_interrupted(const txn_record& t, const char* step, const caf::error& err) {
    module_log("actors")->warn("transaction {} interrupted stream={}/{} step={} error={}",
                               txn_id_text(t.id), t.scope, t.stream, step, render_error(err));
}

}  // namespace

// Deletes an aborting transaction's segments and records it aborted. No stream mutex: its
// segments are its own (a merge never takes an aborting one).
void run_abort(controller_ptr self, const txn_record& t) {
    delete_segments(self, t, [self, t](const caf::error& err) {
        if (err) {
            warn_interrupted(t, "delete", err);
            schedule_repair(self);
            return;
        }
        finish(self, t, [self, t](const caf::error& e) {
            if (e) {
                warn_interrupted(t, "done", e);
                schedule_repair(self);
            }
        });
    });
}

void commit_next(controller_ptr self, const stream_name& n);

namespace {

// Merges the roll's transactions `txns` from the `i`th on into the roll's duplicates, one after
// another in commit order (each one's parts at once: different targets), then calls `then`.
void merge_batch(controller_ptr self,
                 const stream_name& n,
                 const std::vector<uint64_t>& txns,
                 size_t i,
                 std::function<void(const caf::error&)> then) {
    if (i == txns.size()) {
        then({});
        return;
    }
    auto t = self->state.meta->get_txn(n.first, n.second, txns[i]);
    if (!t || t->state != txn_state::committing) {
        merge_batch(self, n, txns, i + 1, std::move(then));  // recorded done: nothing to merge
        return;
    }
    auto step = self->state.meta->commit_step_of(*t);
    if (!step || step->what != storage::controller_state::commit_step::kind::merge) {
        then(step ? caf::make_error(errc::invalid_argument,
                                    "transaction " + txn_id_text(t->id) + " is not in the roll")
                  : step.error());
        return;
    }
    merge_segments(self, *t, step->targets,
                   [self, n, txns, i, then = std::move(then)](const caf::error& err) {
                       if (err) {
                           then(err);
                       } else {
                           merge_batch(self, n, txns, i + 1, then);
                       }
                   });
}

// Runs the actions of the stream's recorded roll (`rec.transition`, storage/controller_roll.cpp)
// and commits txn_rolled, then goes on with the stream's next commit; every action is idempotent
// and repeated from the start on resume. The order makes per-key order hold for readers: the
// duplicates of the transactions' epoch are complete and sealed before the current segments
// are sealed, and the duplicates of the current epoch exist before anyone can leave them.
void continue_roll(controller_ptr self, const stream_record& rec) {
    stream_name n{rec.scope, rec.name};
    const auto& tr = rec.transition;
    uint32_t a = tr.from_epoch;
    std::vector<segment_key> dups;
    std::vector<segment_key> next;
    for (const auto& r : tr.create) {
        (r.id.epoch() == a + 1 ? dups : next).push_back({rec.uid, r.id});
    }
    auto current = keys_of(rec.uid, tr.seal);
    auto fail = [self, n](const char* step, const caf::error& err) {
        end_drive(self, n);
        module_log("actors")->warn("transaction roll interrupted stream={}/{} step={} error={}",
                                   n.first, n.second, step, render_error(err));
        schedule_repair(self);  // resumes it while this replica leads
    };
    // 6. The final lengths, then txn_rolled: the epoch moves and the batch is committed.
    auto done = [self, n, a, dups, current, fail, txns = tr.txns]() {
        auto sealed = current;
        sealed.insert(sealed.end(), dups.begin(), dups.end());
        statuses_then(self, sealed, [=](caf::expected<std::vector<segment_status>> st) {
            if (!st) {
                fail("lengths", st.error());
                return;
            }
            auto c = command::of(command::kind::txn_rolled, n.first, n.second, 0, now_of(self));
            c.target_epoch = a + 2;
            for (size_t i = 0; i < sealed.size(); ++i) {
                PRAVAHA_ASSERT((*st)[i].sealed, "roll of {}/{}: segment {} is not sealed", n.first,
                               n.second, to_string(sealed[i]));
                c.sealed_lengths.emplace_back(sealed[i].segment, (*st)[i].length);
            }
            commit(self, c, [=](const caf::error& err, const outcome* out) {
                if (err || out->error) {
                    fail("rolled", err ? err : out->error);
                    return;
                }
                for (auto id : txns) {
                    auto t = self->state.meta->get_txn(n.first, n.second, id);
                    if (t) {
                        answer_txn_waiters(self, id, {}, &*t);
                        // The tombstones are not needed once it is recorded committed.
                        delete_segments(self, *t, [](const caf::error&) {});
                    }
                }
                commit_next(self, n);
            });
        });
    };
    // 3.-5. Seal the duplicates that took the merges, create the next epoch's, seal the current.
    auto seal_all = [self, dups, next, current, fail, done]() {
        for_segments_then<seal_segment_atom>(self, dups, [=](const caf::error& err) {
            if (err) {
                fail("seal transaction epoch", err);
                return;
            }
            for_segments_then<create_segment_atom>(self, next, [=](const caf::error& e) {
                if (e) {
                    fail("create next epoch", e);
                    return;
                }
                for_segments_then<seal_segment_atom>(self, current, [=](const caf::error& e2) {
                    if (e2) {
                        fail("seal current epoch", e2);
                        return;
                    }
                    done();
                });
            });
        });
    };
    // 1. The duplicates of the transactions' epoch, 2. the batch's merges into them.
    for_segments_then<create_segment_atom>(
        self, dups, [self, n, txns = tr.txns, fail, seal_all](const caf::error& err) {
            if (err) {
                fail("create transaction epoch", err);
                return;
            }
            merge_batch(self, n, txns, 0, [fail, seal_all](const caf::error& e) {
                if (e) {
                    fail("merge", e);
                } else {
                    seal_all();
                }
            });
        });
}

}  // namespace

// Merges the first of the stream's committing transactions (by commit order) not merged yet,
// answers its commit (every part is visible now), records it committed meanwhile and goes on
// with the next merge at once; ends the stream's "commit" workflow when none is left. A
// transaction whose parents' ranges a scale sealed rolls (continue_roll); a scale recorded
// meanwhile runs first.
void commit_next(controller_ptr self, const stream_name& n) {
    if (!is_leader(self)) {
        end_drive(self, n);  // the new leader's repair goes on (a txn_done here fails at once)
        return;
    }
    auto rec = self->state.meta->get_stream(n.first, n.second);
    if (!rec) {
        end_drive(self, n);
        return;
    }
    if (rec->has_transition) {
        if (rec->transition.rolling) {
            continue_roll(self, *rec);
        } else {
            end_drive(self, n);
            run_scale(self, *rec);  // its end starts the commits again
        }
        return;
    }
    auto all = self->state.meta->live_txns_of(n.first, n.second);
    const txn_record* first = nullptr;
    if (all) {
        for (const auto& t : *all) {
            if (t.state == txn_state::committing && self->state.merged_txns.count(t.id) == 0 &&
                (first == nullptr || t.commit_order < first->commit_order)) {
                first = &t;
            }
        }
    }
    if (first == nullptr) {
        end_drive(self, n);
        return;
    }
    using kind = storage::controller_state::commit_step::kind;
    auto step = self->state.meta->commit_step_of(*first);
    if (!step || step->what == kind::wait) {
        end_drive(self, n);
        if (!step) {
            warn_interrupted(*first, "plan", step.error());
        }
        schedule_repair(self);
        return;
    }
    if (step->what == kind::roll) {
        auto c = command::of(command::kind::txn_roll, n.first, n.second, 0, now_of(self));
        commit(self, c, [self, n, t = *first](const caf::error& err, const outcome* out) {
            if (err || out->error) {
                end_drive(self, n);
                warn_interrupted(t, "roll", err ? err : out->error);
                schedule_repair(self);
                return;
            }
            continue_roll(self, out->record);
        });
        return;
    }
    // The planted bug commit_not_atomic merges the first part only before the commit counts.
    bool forget_rest =
        mutants::active(mutants::mutant::commit_not_atomic) && first->segments.size() > 1;
    auto merged_now = *first;
    auto merged_targets = step->targets;
    if (forget_rest) {
        merged_now.segments.resize(1);
        merged_targets.resize(1);
    }
    merge_segments(
        self, merged_now, merged_targets,
        [self, n, t = *first, targets = step->targets, forget_rest](const caf::error& err) {
            if (err) {
                end_drive(self, n);
                warn_interrupted(t, "merge", err);
                schedule_repair(self);  // resumes from the tombstones
                return;
            }
            // Every part is visible and the intent is durable: nothing can undo the commit. Its
            // waiters hear so now; `txn_done` follows while the next transaction merges (one
            // controller write less on each commit's path, and commits of one stream overlap it).
            self->state.merged_txns.insert(t.id);
            auto shown = reported(self, t);
            answer_txn_waiters(self, t.id, {}, &shown);
            finish(self, t, [self, t, targets, forget_rest](const caf::error& e) {
                self->state.merged_txns.erase(t.id);
                wake_seals(self, {t.scope, t.stream});
                if (e) {
                    warn_interrupted(t, "done", e);
                    schedule_repair(
                        self);  // merges again (answered from the tombstones), then done
                    return;
                }
                if (forget_rest) {
                    // The planted bug: the other parts' merges go out unawaited, the deletes at
                    // once.
                    for (size_t i = 1; i < t.segments.size(); ++i) {
                        self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                                      merge_segment_atom::value, targets[i], t.segments[i].key)
                            .then([](int64_t) {}, [](caf::error&) {});
                    }
                }
                // The tombstones are not needed once it is recorded committed.
                delete_segments(self, t, [](const caf::error&) {});
            });
            commit_next(self, n);
        });
}

// Merges the stream's committing transactions one after another in commit order, holding the
// stream mutex ("commit": one driver at a time, so that two transactions' merges into a parent
// never interleave; a scale or a seal waits meanwhile).
void run_commits(controller_ptr self, const stream_name& n) {
    if (!begin_drive(self, n, "commit")) {
        if (std::string_view(self->state.driving.at(n).first) != "commit") {
            schedule_repair(self);  // after the other workflow
        }
        return;  // the running driver takes every committing transaction, this one too
    }
    commit_next(self, n);
}

void resume_txns(controller_ptr self) {
    sync_txns(self);
    std::set<stream_name> commits;
    auto limit = self->state.meta->limits().segment_bytes;
    for (const auto& t : self->state.meta->live_txns()) {
        switch (t.state) {
            case txn_state::open:
                // A begin cut short: its segments may be missing (creating is idempotent; a
                // merged one stays a tombstone).
                for (const auto& s : t.segments) {
                    self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                                  create_txn_segment_atom::value, s.key, limit)
                        .then([](bool) {}, [self](caf::error&) { schedule_repair(self); });
                }
                break;
            case txn_state::committing:
                commits.insert({t.scope, t.stream});
                break;
            case txn_state::aborting:
                run_abort(self, t);
                break;
            default:
                break;
        }
    }
    for (const auto& n : commits) {
        run_commits(self, n);  // joins a running driver, or asks for another repair after another
    }                          // workflow (a seal may wait on these commits)
}

void after_txn_command(controller_ptr self, const command& c, const outcome& out) {
    using kind = command::kind;
    bool txn_command = c.type == kind::txn_begin || c.type == kind::txn_commit ||
                       c.type == kind::txn_abort || c.type == kind::txn_done ||
                       c.type == kind::txn_rolled;
    if (txn_command || c.type == kind::delete_stream || c.type == kind::seal_stream) {
        sync_txns(self);  // also after a refusal: a commit past the lifetime aborts
    }
    if (out.error || c.type != kind::seal_stream) {
        return;
    }
    // A seal aborted the stream's open transactions: delete their segments.
    auto all = self->state.meta->live_txns_of(c.scope, c.name);
    if (!all) {
        return;
    }
    for (const auto& t : *all) {
        if (t.state == txn_state::aborting) {
            run_abort(self, t);
        }
    }
}

void sync_txns(controller_ptr self) {
    auto& st = self->state;
    std::map<uint64_t, txn_record> wanted;
    if (is_leader(self)) {
        for (auto& t : st.meta->live_txns()) {
            if (t.state == txn_state::open) {
                wanted.emplace(t.id, std::move(t));
            }
        }
    } else {
        // The outcome of the waiting commits and aborts is unknown here: the clients ask the
        // new leader (a retry answers the same).
        st.merged_txns.clear();
        fail_waiters(self, st.txn_waiters);
        fail_waiters(self, st.seal_waiters);
    }
    auto now = now_of(self);
    sync_children(self, st.txns, wanted, [self, now](uint64_t, const txn_record& t) {
        txn_actor_config cfg;
        cfg.scope = t.scope;
        cfg.stream = t.stream;
        cfg.id = t.id;
        cfg.controller = caf::actor_cast<controller_actor>(self);
        cfg.lease_ms = t.lease_ms;
        cfg.lifetime_left_ms = t.deadline_ms - now;
        return spawn_txn_actor(self, std::move(cfg));
    });
}

bool on_txn_down(controller_ptr self, const caf::down_msg& dm) {
    return on_child_down<txn_actors_atom>(self, self->state.txns, self->state.txn_sync_scheduled,
                                          dm, "transaction actor");
}

caf::result<bool> txn_expire(controller_ptr self,
                             const std::string& scope,
                             const std::string& stream,
                             uint64_t id,
                             const std::string& reason) {
    auto c = command::of(command::kind::txn_abort, scope, stream, 0, now_of(self));
    c.txn = id;
    c.reason = reason;
    auto rp = self->make_response_promise<bool>();
    commit(self, c, [self, rp](const caf::error& err, const outcome* out) mutable {
        if (err) {
            rp.deliver(err);
            return;
        }
        // Committing or committed already (the commit came first): nothing to abort.
        bool aborting = !out->error && out->txn.state == txn_state::aborting;
        if (aborting) {
            run_abort(self, out->txn);
        }
        rp.deliver(aborting);
    });
    return rp;
}

caf::result<txn_record> txn_call(controller_ptr self, const txn_request& req) {
    using kind = command::kind;
    auto& m = *self->state.meta;
    switch (req.op) {
        case txn_op::status:
        case txn_op::ping:
            return linearized<txn_record>(self, [self, &m, req](auto& rp) {
                auto t = m.get_txn(req.scope, req.stream, req.id);
                if (t && req.op == txn_op::ping) {
                    if (auto it = self->state.txns.find(req.id); it != self->state.txns.end()) {
                        caf::anon_send(it->second, txn_seen_atom::value);
                    }
                }
                if (t) {
                    *t = reported(self, std::move(*t));
                }
                deliver(rp, std::move(t));
            });
        case txn_op::begin: {
            auto c = command::of(kind::txn_begin, req.scope, req.stream, 0, now_of(self));
            c.lease_ms = req.lease_ms;
            c.writer = req.writer;
            auto rp = self->make_response_promise<txn_record>();
            commit(self, c, [self, rp](const caf::error& err, const outcome* out) mutable {
                if (err || out->error) {
                    rp.deliver(err ? err : out->error);
                    return;
                }
                create_segments(self, out->txn,
                                [self, rp, t = out->txn](const caf::error& e) mutable {
                                    if (e) {
                                        schedule_repair(self);  // creates them for the next try
                                        rp.deliver(e);
                                    } else {
                                        rp.deliver(t);
                                    }
                                });
            });
            return rp;
        }
        case txn_op::commit:
        case txn_op::abort: {
            bool commit_it = req.op == txn_op::commit;
            auto c = command::of(commit_it ? kind::txn_commit : kind::txn_abort, req.scope,
                                 req.stream, 0, now_of(self));
            c.txn = req.id;
            auto rp = self->make_response_promise<txn_record>();
            commit(self, c,
                   [self, rp, commit_it](const caf::error& err, const outcome* out) mutable {
                       if (err || out->error) {
                           rp.deliver(err ? err : out->error);
                           return;
                       }
                       auto t = reported(self, out->txn);
                       if (t.state == txn_state::committed || t.state == txn_state::aborted) {
                           rp.deliver(t);  // a retry of a finished (or merged) one
                           return;
                       }
                       self->state.txn_waiters[t.id].push_back(rp);
                       if (commit_it) {
                           run_commits(self, {t.scope, t.stream});
                       } else {
                           run_abort(self, t);
                       }
                   });
            return rp;
        }
    }
    return caf::make_error(errc::invalid_argument, "unknown transaction request");
}

caf::result<std::vector<txn_record>> txn_list(controller_ptr self,
                                              const std::string& scope,
                                              const std::string& name) {
    auto& m = *self->state.meta;
    return linearized<std::vector<txn_record>>(self, [self, &m, scope, name](auto& rp) {
        auto all = m.list_txns(scope, name);
        if (all) {
            for (auto& t : *all) {
                t = reported(self, std::move(t));
            }
        }
        deliver(rp, std::move(all));
    });
}

}  // namespace pravaha::actors::ctl
