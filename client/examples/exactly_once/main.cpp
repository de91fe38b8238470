// pravaha-example-exactly-once: read, process, write from one stream to another, exactly once
// across crashes of the processor (kill -9 included), with a reader group and transactions.
//
//   pravaha-example-exactly-once --endpoint HOST:PORT --input SCOPE/STREAM
//       --output SCOPE/STREAM --group SCOPE/GROUP [--name N] [--batch N] [--idle-exit-ms MS]
//       [--lease-ms MS] [--retry-timeout-ms MS] [--verbose 0|1]
//
// Each input event "KEY:TEXT" becomes the output event "KEY:TEXT" with TEXT upper-cased, routed
// by KEY. The processor is the group's only reader.
//
// How it is exactly once. A batch of outputs goes into a transaction T of the output stream,
// written under a writer id derived from --name. Once T holds the batch durably, the processor
// takes checkpoint "txn-<T>" of the group: the input position right after the batch. Only when
// the checkpoint is complete does it commit T. A restarted processor
//   1. finds the newest complete checkpoint "txn-<T>" whose T is not aborted (or "start", the
//      group's beginning) and was not forced (completed by the group when the reader went away
//      before recording its position: its positions are then the reader's last reported ones,
//      not the batch's end; a processor that sees its own checkpoint forced aborts T and exits)
//      and commits T: a no-op when it was committed, and the missing step
//      when the crash came between the checkpoint and the commit (a commit is idempotent);
//   2. aborts every other open transaction of its writer id: batches whose position was never
//      recorded, which it reads again;
//   3. rewinds the group to that checkpoint and reads on from there.
// So each input event's output is committed once: the batch that holds it was either committed
// together with the input position after it, or aborted and read again. T's lease (--lease-ms)
// must outlast the time the processor stays down; a transaction aborted by its lease after its
// checkpoint completed makes the processor rewind to an older checkpoint (it reads more again).

#include "client/client.hpp"
#include "schema/errc.hpp"
#include "schema/names.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <stdexcept>
#include <string>

namespace {

using namespace pravaha;
using namespace std::chrono_literals;

struct options {
    std::string endpoint;
    std::string in_scope, in_stream, out_scope, out_stream, group_scope, group;
    std::string name = "processor";
    size_t batch = 100;
    int64_t idle_exit_ms = 0;  // 0: never
    int64_t lease_ms = 60'000;
    int64_t retry_timeout_ms = 30'000;
    bool verbose = false;  // a line per committed batch
};

void usage() {
    std::fprintf(stderr,
                 "usage: pravaha-example-exactly-once --endpoint HOST:PORT --input SCOPE/STREAM\n"
                 "           --output SCOPE/STREAM --group SCOPE/GROUP [--name N] [--batch N]\n"
                 "           [--idle-exit-ms MS] [--lease-ms MS] [--retry-timeout-ms MS]\n"
                 "           [--verbose 0|1]\n");
}

void split_name(const std::string& flag,
                const std::string& value,
                std::string& scope,
                std::string& name) {
    if (auto err = split_stream_name(value, scope, name)) {
        throw std::invalid_argument("--" + flag + ": " + render_error(err));
    }
}

// Parses the command line; false (after saying why) on anything it does not know.
bool parse(int argc, char** argv, options& o) {
    std::map<std::string, std::string> flags;
    for (int i = 1; i < argc; i += 2) {
        std::string name = argv[i];
        if (name.rfind("--", 0) != 0 || i + 1 >= argc) {
            std::fprintf(stderr, "expected --flag value, got '%s'\n", name.c_str());
            usage();
            return false;
        }
        flags[name.substr(2)] = argv[i + 1];
    }
    try {
        for (auto& [name, value] : flags) {
            if (name == "endpoint") {
                o.endpoint = value;
            } else if (name == "input") {
                split_name(name, value, o.in_scope, o.in_stream);
            } else if (name == "output") {
                split_name(name, value, o.out_scope, o.out_stream);
            } else if (name == "group") {
                split_name(name, value, o.group_scope, o.group);
            } else if (name == "name") {
                o.name = value;
            } else if (name == "batch") {
                o.batch = std::stoul(value);
            } else if (name == "idle-exit-ms") {
                o.idle_exit_ms = std::stoll(value);
            } else if (name == "lease-ms") {
                o.lease_ms = std::stoll(value);
            } else if (name == "retry-timeout-ms") {
                o.retry_timeout_ms = std::stoll(value);
            } else if (name == "verbose") {
                o.verbose = std::stoi(value) != 0;
            } else {
                throw std::invalid_argument("unknown flag --" + name);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bad arguments: %s\n", e.what());
        usage();
        return false;
    }
    if (o.endpoint.empty() || o.in_stream.empty() || o.out_stream.empty() || o.group.empty() ||
        o.batch == 0 || o.name.empty()) {
        std::fprintf(stderr, "--endpoint, --input, --output and --group are needed; --batch > 0\n");
        usage();
        return false;
    }
    return true;
}

// The processor's writer id: the same for every run of the same --name (FNV-1a of the name).
writer_id writer_of(const std::string& name) {
    auto fnv = [&](uint64_t h) {
        for (unsigned char c : name) {
            h = (h ^ c) * 1099511628211ULL;
        }
        return h;
    };
    return writer_id{fnv(14695981039346656037ULL), fnv(0x9e3779b97f4a7c15ULL)};
}

const std::string start_checkpoint = "start";
const std::string txn_prefix = "txn-";

// Thrown on an error the processor cannot go on from: it exits non-zero; a restart recovers.
struct fatal : std::runtime_error {
    fatal(const std::string& what, const caf::error& err)
        : std::runtime_error(what + ": " + render_error(err)) {}
    explicit fatal(const std::string& what) : std::runtime_error(what) {}
};

template <class T>
T must(caf::expected<T> x, const std::string& what) {
    if (!x) {
        throw fatal(what, x.error());
    }
    return std::move(*x);
}

void must(const caf::error& err, const std::string& what) {
    if (err) {
        throw fatal(what, err);
    }
}

class processor {
public:
    processor(const options& o, client::client_factory& f) : o_(o), f_(f) {
        tc_.lease_ms = o.lease_ms;
        tc_.writer = writer_of(o.name);
    }

    // Recovers (see the top of the file), then processes until idle for --idle-exit-ms.
    void run() {
        recover();
        reader_ = must(f_.create_group_reader(o_.group_scope, o_.group, o_.name),
                       "joining group " + o_.group_scope + "/" + o_.group);
        while (batch()) {
        }
        must(reader_->close(), "leaving the group");
        std::printf("done: %llu events in %llu transactions\n",
                    static_cast<unsigned long long>(events_),
                    static_cast<unsigned long long>(commits_));
    }

private:
    void recover() {
        group_config cfg;
        cfg.streams.push_back({o_.in_scope, o_.in_stream, {}, {}});
        cfg.lease_ms = 3000;
        cfg.checkpoint_interval_ms = 0;  // only the processor's own checkpoints
        auto g = must(f_.groups().create_group(o_.group_scope, o_.group, cfg), "creating group");
        std::map<uint64_t, txn_record> mine;  // this writer id's transactions
        for (auto& t : must(f_.list_transactions(o_.out_scope, o_.out_stream), "listing")) {
            if (t.writer == tc_.writer) {
                mine.emplace(t.id, std::move(t));
            }
        }
        // The newest usable checkpoint, and the transaction it commits (0: none).
        std::string base;
        uint64_t keep = 0;
        for (auto it = g.checkpoints.rbegin(); it != g.checkpoints.rend() && base.empty(); ++it) {
            if (!it->complete || it->forced) {
                continue;  // forced: its positions are not where its batch ended
            }
            if (it->name == start_checkpoint) {
                base = it->name;
            } else if (it->name.rfind(txn_prefix, 0) == 0) {
                uint64_t id = 0;
                if (!parse_txn_id(it->name.substr(txn_prefix.size()), id)) {
                    continue;
                }
                auto t = mine.find(id);
                if (t == mine.end()) {
                    // Completed and no longer kept (retention passed): its batch is committed or
                    // gone for good; nothing here can tell which.
                    throw fatal("checkpoint " + it->name + ": its transaction is no longer known");
                }
                if (t->second.state != txn_state::aborted &&
                    t->second.state != txn_state::aborting) {
                    base = it->name;
                    keep = id;
                }
            }
        }
        if (base.empty()) {
            if (!g.checkpoints.empty()) {
                throw fatal("no usable checkpoint of group " + o_.group +
                            ": cannot go on exactly once");
            }
            // A new group: its beginning is the first checkpoint (no reader has read yet).
            must(f_.groups().checkpoint(o_.group_scope, o_.group, start_checkpoint),
                 "checkpoint start");
            base = start_checkpoint;
        }
        if (keep != 0) {
            auto t = must(f_.open_transaction(o_.out_scope, o_.out_stream, keep, tc_), "open");
            auto rec = must(t->commit(), "committing transaction " + txn_id_text(keep));
            std::printf("recovered: transaction %s %s\n", txn_id_text(keep).c_str(),
                        to_string(rec.state));
        }
        for (const auto& [id, t] : mine) {
            if (id != keep && t.state == txn_state::open) {
                auto txn = must(f_.open_transaction(o_.out_scope, o_.out_stream, id, tc_), "open");
                must(txn->abort(), "aborting transaction " + txn_id_text(id));
                std::printf("recovered: transaction %s aborted\n", txn_id_text(id).c_str());
            }
        }
        must(f_.groups().reset(o_.group_scope, o_.group, base, {}), "rewinding the group");
        std::printf("reading from checkpoint %s\n", base.c_str());
    }

    // The next event: a carried one first, else the reader's (nullopt after `wait` idle).
    std::optional<client::event> next(std::chrono::milliseconds wait) {
        if (!carry_.empty()) {
            auto ev = std::move(carry_.front());
            carry_.pop_front();
            return ev;
        }
        return must(reader_->read_next(wait), "reading");
    }

    // "KEY:TEXT" → ("KEY", "KEY:TEXT" upper-cased after the key).
    void write(client::transaction& t, const std::string& payload) {
        auto colon = payload.find(':');
        std::string key = colon == std::string::npos ? "" : payload.substr(0, colon);
        std::string out = payload;
        for (size_t i = colon == std::string::npos ? 0 : colon + 1; i < out.size(); ++i) {
            out[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i])));
        }
        must(t.write(key, out), "writing");
    }

    // One batch: false once idle for --idle-exit-ms with nothing read.
    bool batch() {
        auto t = must(f_.begin_transaction(o_.out_scope, o_.out_stream, tc_), "begin");
        size_t n = 0;
        std::string first;
        std::string last;
        auto put = [&](const std::string& payload) {
            write(*t, payload);
            if (n++ == 0) {
                first = payload;
            }
            last = payload;
        };
        auto idle_since = std::chrono::steady_clock::now();
        while (n < o_.batch) {
            auto ev = next(100ms);
            if (!ev) {
                if (n > 0) {
                    break;  // a partial batch: commit what came
                }
                if (o_.idle_exit_ms > 0 && std::chrono::steady_clock::now() - idle_since >=
                                               std::chrono::milliseconds(o_.idle_exit_ms)) {
                    must(t->abort(), "aborting the empty transaction");
                    return false;
                }
                continue;
            }
            if (ev->checkpoint.empty()) {
                put(ev->payload);
            }
        }
        // The input position after the batch: the checkpoint's marker comes after every event
        // the reader delivered before it, and those belong to this batch: the ones carried from
        // the previous batch's wait too.
        while (!carry_.empty()) {
            put(carry_.front().payload);
            carry_.pop_front();
        }
        auto name = txn_prefix + txn_id_text(t->id());
        auto cp = std::async(std::launch::async, [&] {
            return f_.groups().checkpoint(o_.group_scope, o_.group, name);
        });
        while (true) {
            auto ev = must(reader_->read_next(100ms), "reading");
            if (!ev) {
                if (cp.wait_for(0ms) == std::future_status::ready) {
                    must(cp.get(), "checkpoint " + name);
                    throw fatal("checkpoint " + name + " completed without its marker");
                }
                continue;
            }
            if (ev->checkpoint == name) {
                break;
            }
            if (ev->checkpoint.empty()) {
                put(ev->payload);
            }
        }
        // Durable before the position is recorded: a crash after the checkpoint completes must
        // find the whole batch in T. The reader records it when asked for the next event; what
        // that returns is the next batch's.
        must(t->flush(), "flushing transaction " + txn_id_text(t->id()));
        while (cp.wait_for(0ms) != std::future_status::ready) {
            if (auto ev = must(reader_->read_next(20ms), "reading"); ev && ev->checkpoint.empty()) {
                carry_.push_back(std::move(*ev));
            }
        }
        must(cp.get(), "checkpoint " + name);
        // A checkpoint the group completed without this reader's position (its lease passed
        // while it waited) does not mark the batch's end: the batch must not be committed.
        auto g = must(f_.groups().group(o_.group_scope, o_.group), "group " + o_.group);
        auto own = std::find_if(g.checkpoints.begin(), g.checkpoints.end(),
                                [&](const auto& c) { return c.name == name; });
        if (own == g.checkpoints.end() || own->forced) {
            must(t->abort(), "aborting transaction " + txn_id_text(t->id()));
            throw fatal("checkpoint " + name + " was completed without this reader's position " +
                        "(or is gone): restart");
        }
        auto rec = must(t->commit(), "committing transaction " + txn_id_text(t->id()));
        if (o_.verbose) {
            std::printf("transaction %s %s: %zu events, %s .. %s\n", txn_id_text(t->id()).c_str(),
                        to_string(rec.state), n, first.c_str(), last.c_str());
        }
        events_ += n;
        ++commits_;
        return true;
    }

    const options& o_;
    client::client_factory& f_;
    client::txn_config tc_;
    std::unique_ptr<client::event_reader> reader_;
    std::deque<client::event> carry_;
    uint64_t events_ = 0;
    uint64_t commits_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen
    options o;
    if (!parse(argc, argv, o)) {
        return 2;
    }
    client::client_config cfg;
    cfg.endpoint = o.endpoint;
    cfg.retry_timeout = std::chrono::milliseconds(o.retry_timeout_ms);
    auto f = client::client_factory::connect(cfg);
    if (!f) {
        std::fprintf(stderr, "cannot connect to %s: %s\n", o.endpoint.c_str(),
                     render_error(f.error()).c_str());
        return 1;
    }
    try {
        processor p(o, **f);
        p.run();
    } catch (const fatal& e) {
        std::fprintf(stderr, "pravaha-example-exactly-once: %s\n", e.what());
        return 1;
    }
    return 0;
}
