#include "sim/history_dump.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace pravaha::sim {

namespace {

constexpr const char* magic = "pravaha-sim-history 1";

void write_event(std::ostream& out, const event_id& e) {
    out << ' ' << e.writer << ' ' << e.incarnation << ' ' << e.seq << ' ' << e.key << ' '
        << e.stream;
}

bool read_event(std::istream& in, event_id& e) {
    return static_cast<bool>(in >> e.writer >> e.incarnation >> e.seq >> e.key >> e.stream);
}

// Parses one line (its first word already read into `tag`) into `run`. False if malformed.
bool parse_line(const std::string& tag, std::istringstream& in, recorded_run& run) {
    if (tag == "op") {
        op_rec op;
        int out = 0;
        int idempotent = 0;
        int maybe = 0;
        int resend = 0;
        if (!read_event(in, op.id) ||
            !(in >> idempotent >> op.hash >> op.invoke >> op.complete >> out >> op.sends >> maybe >>
              resend) ||
            out < 0 || out > static_cast<int>(outcome::unknown)) {
            return false;
        }
        op.idempotent = idempotent != 0;
        op.out = static_cast<outcome>(out);
        op.maybe_stored = maybe != 0;
        op.resend = resend != 0;
        // A transaction's number follows (files written before transactions have none).
        if (!(in >> op.txn)) {
            op.txn = 0;
        } else if (op.txn > run.writes.txns().size()) {
            return false;
        }
        auto index = run.writes.invoke(op);
        if (op.txn != 0) {
            run.writes.txn(op.txn).ops.push_back(index);
        }
        return true;
    }
    if (tag == "txn") {
        // What the replayed checks need of a transaction: when its commit was answered (the
        // caught-up check counts its events from then).
        txn_rec t;
        if (!(in >> t.client >> t.stream >> t.id >> t.commit_asked >> t.committed_at)) {
            return false;
        }
        run.writes.add_txn(t);
        return true;
    }
    if (tag == "ack") {
        size_t index = 0;
        if (!(in >> index) || index >= run.writes.ops().size()) {
            return false;
        }
        run.writes.acknowledged(index);
        return true;
    }
    journal_entry j;
    if (tag == "read") {
        j.type = journal_entry::kind::read;
        int foreign = 0;
        event_id e;
        if (!(in >> j.client >> j.segment.first >> j.segment_id >> j.offset >> j.hash >> foreign) ||
            !read_event(in, e)) {
            return false;
        }
        j.segment.second = static_cast<uint64_t>(j.segment_id);
        if (foreign == 0) {
            j.event = e;
        }
    } else if (tag == "caught_up") {
        j.type = journal_entry::kind::caught_up;
        if (!(in >> j.client >> j.stream >> j.at)) {
            return false;
        }
    } else if (tag == "reopen") {
        j.type = journal_entry::kind::reopen;
        if (!(in >> j.client >> j.at >> j.last >> j.next_seq)) {
            return false;
        }
    } else if (tag == "reset") {
        j.type = journal_entry::kind::view_reset;
        if (!(in >> j.client)) {
            return false;
        }
    } else if (tag == "stored") {
        writer_seq ev;
        uint32_t count = 0;
        if (!(in >> ev.first >> ev.second >> count)) {
            return false;
        }
        run.stored[ev] = count;
        return true;
    } else if (tag == "audited") {
        int a = 0;
        if (!(in >> a)) {
            return false;
        }
        run.audited = a != 0;
        return true;
    } else {
        return false;
    }
    run.journal.push_back(j);
    return true;
}

}  // namespace

std::string write_history(const std::string& path, const recorded_run& run) {
    std::ofstream out(path);
    if (!out) {
        return "cannot write " + path;
    }
    out << magic << '\n';
    out << "header " << run.header << '\n';
    out << "epoch " << run.writes.epoch() << '\n';
    for (const auto& t : run.writes.txns()) {
        out << "txn " << t.client << ' ' << t.stream << ' ' << t.id << ' ' << t.commit_asked << ' '
            << t.committed_at << '\n';
    }
    for (const auto& op : run.writes.ops()) {
        out << "op";
        write_event(out, op.id);
        out << ' ' << (op.idempotent ? 1 : 0) << ' ' << op.hash << ' ' << op.invoke << ' '
            << op.complete << ' ' << static_cast<int>(op.out) << ' ' << op.sends << ' '
            << (op.maybe_stored ? 1 : 0) << ' ' << (op.resend ? 1 : 0) << ' ' << op.txn << '\n';
    }
    for (const auto& stream : run.writes.acked_by_stream()) {
        for (auto index : stream) {
            out << "ack " << index << '\n';
        }
    }
    for (const auto& j : run.journal) {
        switch (j.type) {
            case journal_entry::kind::read:
                out << "read " << j.client << ' ' << j.segment.first << ' ' << j.segment_id << ' '
                    << j.offset << ' ' << j.hash << ' ' << (j.event ? 0 : 1);
                write_event(out, j.event.value_or(event_id{}));
                out << '\n';
                break;
            case journal_entry::kind::caught_up:
                out << "caught_up " << j.client << ' ' << j.stream << ' ' << j.at << '\n';
                break;
            case journal_entry::kind::reopen:
                out << "reopen " << j.client << ' ' << j.at << ' ' << j.last << ' ' << j.next_seq
                    << '\n';
                break;
            case journal_entry::kind::view_reset:
                out << "reset " << j.client << '\n';
                break;
        }
    }
    for (const auto& [ev, count] : run.stored) {
        out << "stored " << ev.first << ' ' << ev.second << ' ' << count << '\n';
    }
    out << "audited " << (run.audited ? 1 : 0) << '\n';
    out.close();
    return out ? "" : "cannot write " + path;
}

std::optional<recorded_run> read_history(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "cannot read " + path;
        return std::nullopt;
    }
    std::string line;
    if (!std::getline(in, line) || line != magic) {
        error = path + ": not a pravaha-sim history (first line: " + magic + ")";
        return std::nullopt;
    }
    recorded_run run;
    size_t number = 1;
    while (std::getline(in, line)) {
        ++number;
        std::istringstream words(line);
        std::string tag;
        words >> tag;
        if (tag == "header") {
            run.header = line.size() > 7 ? line.substr(7) : "";
            continue;
        }
        if (tag == "epoch") {
            int64_t epoch = 0;
            if (!(words >> epoch) || !run.writes.ops().empty()) {
                error = fmt::format("{} line {}: bad epoch", path, number);
                return std::nullopt;
            }
            run.writes = history(epoch);
            continue;
        }
        if (!parse_line(tag, words, run)) {
            error = fmt::format("{} line {}: cannot parse '{}'", path, number, line);
            return std::nullopt;
        }
    }
    return run;
}

finding check_recorded(const recorded_run& run) {
    const auto& h = run.writes;
    offset_map offsets;
    std::map<uint32_t, reader_view> views;
    for (const auto& j : run.journal) {
        finding bad;
        switch (j.type) {
            case journal_entry::kind::read: {
                read_rec r;
                r.reader = j.client;
                r.segment = j.segment;
                r.segment_id = j.segment_id;
                r.offset = j.offset;
                bad = check_read_event(h, offsets, views[j.client], r, j.event, j.hash);
                break;
            }
            case journal_entry::kind::caught_up:
                bad = check_caught_up(h, views[j.client], j.client, j.stream, j.at);
                break;
            case journal_entry::kind::reopen:
                bad = check_reopen(h, j.client, j.at, j.last, j.next_seq);
                break;
            case journal_entry::kind::view_reset:
                views[j.client] = reader_view{};
                break;
        }
        if (bad) {
            return bad;
        }
    }
    if (!run.audited) {
        return std::nullopt;
    }
    return check_final(h, run.stored,
                       [](const op_rec&) { return std::string("(offline: no disk images)"); });
}

int check_history_command(const std::string& path) {
    std::string error;
    auto run = read_history(path, error);
    if (!run) {
        std::fprintf(stderr, "pravaha-sim: %s\n", error.c_str());
        return 2;
    }
    std::printf("%s\n%zu writes, %zu checker inputs, %s\n", run->header.c_str(),
                run->writes.ops().size(), run->journal.size(),
                run->audited ? "audited" : "not audited (the run ended before its audit)");
    if (auto bad = check_recorded(*run)) {
        std::printf("CORRECTNESS: %s\n", bad->c_str());
        return static_cast<int>(verdict::correctness);
    }
    std::printf("PASS\n");
    return 0;
}

}  // namespace pravaha::sim
