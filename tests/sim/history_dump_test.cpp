#include "sim/history_dump.hpp"

#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include <fstream>

using namespace pravaha;
using namespace pravaha::sim;

namespace {

// Writer 0 wrote seq 0..2 (acknowledged); reader 7 read them at offsets 0, 10, 20, then was
// told it had read everything; the audit found each once.
recorded_run clean_run() {
    recorded_run run;
    run.header = "hand-written";
    run.writes = history(100);
    for (uint64_t seq = 0; seq < 3; ++seq) {
        op_rec op;
        op.id = event_id{0, 1, seq, 1, 0};
        op.invoke = 100 + static_cast<int64_t>(seq) * 10;
        op.complete = op.invoke + 5;
        op.out = outcome::ok;
        op.sends = 1;
        op.hash = payload_hash(make_payload(op.id, 3));
        run.writes.acknowledged(run.writes.invoke(op));
        journal_entry j;
        j.type = journal_entry::kind::read;
        j.client = 7;
        j.segment = {42, 0};
        j.offset = static_cast<int64_t>(seq) * 10;
        j.event = op.id;
        j.hash = op.hash;
        run.journal.push_back(j);
        run.stored[{0, seq}] = 1;
    }
    journal_entry done;
    done.type = journal_entry::kind::caught_up;
    done.client = 7;
    done.at = 1000;
    run.journal.push_back(done);
    run.audited = true;
    return run;
}

recorded_run round_trip(const recorded_run& run) {
    test::temp_dir dir;
    auto path = dir.path() + "/history.txt";
    REQUIRE(write_history(path, run).empty());
    std::string error;
    auto back = read_history(path, error);
    REQUIRE(back);
    CHECK(error.empty());
    return std::move(*back);
}

}  // namespace

TEST_CASE("a dumped history reads back and is checked as the world checked it", "[sim]") {
    auto run = clean_run();
    CHECK_FALSE(check_recorded(round_trip(run)));

    SECTION("a lost acknowledged event") {
        run.stored.erase({0, 1});
        auto bad = check_recorded(round_trip(run));
        REQUIRE(bad);
        CHECK(bad->find("seq=1") != std::string::npos);
    }
    SECTION("a reader restarted from the head sees a repeat, not a duplicate") {
        journal_entry reset;
        reset.type = journal_entry::kind::view_reset;
        reset.client = 7;
        auto again = run.journal.front();
        run.journal.push_back(reset);
        run.journal.push_back(again);
        CHECK_FALSE(check_recorded(round_trip(run)));
        run.journal.push_back(again);  // the same event twice in one incarnation
        auto bad = check_recorded(round_trip(run));
        REQUIRE(bad);
        CHECK(bad->find("twice") != std::string::npos);
    }
    SECTION("a read reported caught up before an acknowledged event") {
        run.journal.erase(run.journal.begin() + 2);  // seq 2 was never read
        auto bad = check_recorded(round_trip(run));
        REQUIRE(bad);
        CHECK(bad->find("seq=2") != std::string::npos);
    }
    SECTION("foreign bytes") {
        run.journal[1].event.reset();
        auto bad = check_recorded(round_trip(run));
        REQUIRE(bad);
        CHECK(bad->find("no writer wrote") != std::string::npos);
    }
}

TEST_CASE("a file that is not a history is refused with the line that is wrong", "[sim]") {
    test::temp_dir dir;
    auto path = dir.path() + "/bad.txt";
    std::string error;
    CHECK_FALSE(read_history(dir.path() + "/missing.txt", error));
    CHECK(error.find("cannot read") != std::string::npos);
    {
        std::ofstream out(path);
        out << "something else\n";
    }
    CHECK_FALSE(read_history(path, error));
    CHECK(error.find("not a pravaha-sim history") != std::string::npos);
    {
        std::ofstream out(path);
        out << "pravaha-sim-history 1\nop 1 2 three\n";
    }
    CHECK_FALSE(read_history(path, error));
    CHECK(error.find("line 2") != std::string::npos);
    {
        std::ofstream out(path);
        out << "pravaha-sim-history 1\nack 5\n";  // no write 5
    }
    CHECK_FALSE(read_history(path, error));
    CHECK(error.find("line 2") != std::string::npos);
}
