#include "sim/txn_checkers.hpp"

#include "schema/txn_types.hpp"

#include <fmt/format.h>

#include <set>

namespace pravaha::sim {

namespace {

std::string name_of(const history& h, uint32_t n) {
    const auto& t = h.txn(n);
    return fmt::format("transaction {} ({}, client {}, stream {})", n,
                       t.id != 0 ? txn_id_text(t.id) : std::string("no id"), t.client, t.stream);
}

const char* end_text(txn_end e) {
    switch (e) {
        case txn_end::committed:
            return "committed";
        case txn_end::aborted:
            return "aborted";
        default:
            return "undecided";
    }
}

}  // namespace

finding check_txn_delivery(const history& h, uint32_t n, int64_t now) {
    const auto& t = h.txn(n);
    if (t.commit_asked == 0 || t.commit_asked > now) {
        return fmt::format("{}: an event was delivered at {:.3f}s before any commit was asked",
                           name_of(h, n), h.seconds(now));
    }
    if (t.answer == txn_end::aborted || t.final_state == txn_end::aborted) {
        return fmt::format("{}: an event was delivered at {:.3f}s though it is aborted",
                           name_of(h, n), h.seconds(now));
    }
    return std::nullopt;
}

finding check_txn_learnt(const history& h, uint32_t n) {
    const auto& t = h.txn(n);
    if ((t.answer == txn_end::aborted || t.final_state == txn_end::aborted) && t.first_seen != 0) {
        return fmt::format("{} is aborted, but a reader was given one of its events at {:.3f}s",
                           name_of(h, n), h.seconds(t.first_seen));
    }
    if (t.answer != txn_end::none && t.final_state != txn_end::none && t.answer != t.final_state) {
        return fmt::format("{}: a client was told {}, but the controller records it {}",
                           name_of(h, n), end_text(t.answer), end_text(t.final_state));
    }
    return std::nullopt;
}

finding check_txn_final(const history& h,
                        const txn_layout& layout,
                        const std::map<writer_seq, uint32_t>& stored) {
    auto count = [&stored](const op_rec& op) {
        auto it = stored.find({op.id.writer, op.id.seq});
        return it == stored.end() ? 0U : it->second;
    };
    const auto& txns = h.txns();
    for (uint32_t n = 1; n <= txns.size(); ++n) {
        const auto& t = h.txn(n);
        bool committed = t.final_state == txn_end::committed;
        // F3: a part seen, or a commit the controller ordered, means it committed.
        if (!committed && (t.first_seen != 0 || t.commit_order != 0)) {
            return fmt::format(
                "{} ended {}, but {}", name_of(h, n), end_text(t.final_state),
                t.first_seen != 0
                    ? fmt::format("a reader was given one of its events at {:.3f}s",
                                  h.seconds(t.first_seen))
                    : fmt::format("the controller had ordered its commit ({})", t.commit_order));
        }
        for (auto index : t.ops) {
            const auto& op = h.op(index);
            auto c = count(op);
            if (committed && op.out == outcome::ok && c != 1) {  // F1
                return fmt::format("{} committed, but its acknowledged event {} is stored {} times",
                                   name_of(h, n), op.id.seq, c);
            }
            if (committed && c > 1) {
                return fmt::format("{} committed, but its event {} is stored {} times",
                                   name_of(h, n), op.id.seq, c);
            }
            if (t.final_state == txn_end::aborted && c > 0) {  // F2
                return fmt::format("{} aborted, but its event {} is stored", name_of(h, n),
                                   op.id.seq);
            }
        }
    }
    // F1 (one run per segment) and F4 (runs in commit order), over the layout in offset order.
    segment_ref segment;
    uint32_t run = 0;  // the transaction of the run the last entry belongs to (0: none)
    uint64_t last_order = 0;
    std::set<uint32_t> ended;  // transactions whose run in this segment ended
    bool first = true;
    int64_t after = 0;  // the offset after the entry before, in this segment
    for (const auto& [where, entry] : layout) {
        if (first || where.first != segment) {
            segment = where.first;
            run = 0;
            last_order = 0;
            ended.clear();
            first = false;
            after = where.second;
        }
        auto n = entry.first;
        bool adjacent = after == where.second;
        after = entry.second;
        if (n == run) {
            if (n != 0 && !adjacent) {
                return fmt::format("{}: its events in segment {:x} have a gap before offset {}",
                                   name_of(h, n), segment.second, where.second);
            }
            continue;
        }
        if (run != 0) {
            ended.insert(run);
        }
        run = n;
        if (n == 0) {
            continue;
        }
        if (ended.count(n)) {
            return fmt::format("{}: its events in segment {:x} are not contiguous (offset {})",
                               name_of(h, n), segment.second, where.second);
        }
        const auto& t = h.txn(n);
        if (t.commit_order <= last_order) {
            return fmt::format(
                "{} (commit order {}) precedes a transaction ordered later ({}) in "
                "segment {:x}",
                name_of(h, n), t.commit_order, last_order, segment.second);
        }
        last_order = t.commit_order;
    }
    // F4 in real time: a commit answered before another was asked was ordered first.
    for (uint32_t a = 1; a <= txns.size(); ++a) {
        const auto& ta = h.txn(a);
        if (ta.final_state != txn_end::committed || ta.committed_at == 0) {
            continue;
        }
        for (uint32_t b = 1; b <= txns.size(); ++b) {
            const auto& tb = h.txn(b);
            if (tb.final_state == txn_end::committed && tb.stream == ta.stream &&
                tb.commit_asked > ta.committed_at && tb.commit_order <= ta.commit_order) {
                return fmt::format(
                    "{} was answered committed at {:.3f}s, before {} asked for its commit at "
                    "{:.3f}s, but was ordered after it ({} vs {})",
                    name_of(h, a), h.seconds(ta.committed_at), name_of(h, b),
                    h.seconds(tb.commit_asked), ta.commit_order, tb.commit_order);
            }
        }
    }
    return std::nullopt;
}

}  // namespace pravaha::sim
