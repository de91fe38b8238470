// Codecs of reader groups' persisted forms (records.capnp: ReaderGroupRecord and the group parts
// of ControllerCommand).

#include "schema/capnp_codec.hpp"
#include "schema/records.hpp"

namespace pravaha {

namespace codec {

namespace {

template <class Builder>
void set_offsets(Builder list, const std::vector<group_offset>& xs) {
    for (unsigned i = 0; i < xs.size(); ++i) {
        list[i].setStream(xs[i].key.stream.value);
        list[i].setSegmentId(xs[i].key.segment.value);
        list[i].setOffset(xs[i].offset);
    }
}

template <class Builder>
void set_offset_map(Builder list, const std::map<segment_key, int64_t>& xs) {
    unsigned i = 0;
    for (const auto& [key, offset] : xs) {
        list[i].setStream(key.stream.value);
        list[i].setSegmentId(key.segment.value);
        list[i].setOffset(offset);
        ++i;
    }
}

template <class Builder>
void set_key_set(Builder list, const std::set<segment_key>& xs) {
    unsigned i = 0;
    for (const auto& key : xs) {
        list[i].setStream(key.stream.value);
        list[i].setSegmentId(key.segment.value);
        ++i;
    }
}

segment_key key_of(schema::GroupOffset::Reader r) {
    return segment_key{stream_uid{r.getStream()}, segment_id{r.getSegmentId()}};
}

std::vector<group_offset> get_offsets(capnp::List<schema::GroupOffset>::Reader list) {
    std::vector<group_offset> out;
    out.reserve(list.size());
    for (auto r : list) {
        out.push_back(group_offset{key_of(r), r.getOffset()});
    }
    return out;
}

std::map<segment_key, int64_t> get_offset_map(capnp::List<schema::GroupOffset>::Reader list) {
    std::map<segment_key, int64_t> out;
    for (auto r : list) {
        out[key_of(r)] = r.getOffset();
    }
    return out;
}

std::set<segment_key> get_key_set(capnp::List<schema::GroupOffset>::Reader list) {
    std::set<segment_key> out;
    for (auto r : list) {
        out.insert(key_of(r));
    }
    return out;
}

template <class Builder, class Strings>
void set_texts(Builder list, const Strings& xs) {
    unsigned i = 0;
    for (const auto& x : xs) {
        list.set(i++, x);
    }
}

void set_cut(schema::StreamCut::Builder b, const stream_cut& cut) {
    b.setStream(cut.stream.value);
    auto segs = b.initSegments(static_cast<unsigned>(cut.segments.size()));
    for (unsigned i = 0; i < cut.segments.size(); ++i) {
        const auto& s = cut.segments[i];
        segs[i].setSegmentId(s.range.id.value);
        segs[i].setKeyStart(s.range.key_start);
        segs[i].setKeyEnd(s.range.key_end);
        segs[i].setOffset(s.offset);
    }
}

stream_cut get_cut(schema::StreamCut::Reader r) {
    stream_cut cut;
    cut.stream = stream_uid{r.getStream()};
    for (auto s : r.getSegments()) {
        cut.segments.push_back(
            cut_segment{segment_range{segment_id{s.getSegmentId()}, s.getKeyStart(), s.getKeyEnd()},
                        s.getOffset()});
    }
    return cut;
}

}  // namespace

void set_cuts(capnp::List<schema::StreamCut>::Builder list, const std::vector<stream_cut>& cuts) {
    for (unsigned i = 0; i < cuts.size(); ++i) {
        set_cut(list[i], cuts[i]);
    }
}

std::vector<stream_cut> get_cuts(capnp::List<schema::StreamCut>::Reader list) {
    std::vector<stream_cut> out;
    out.reserve(list.size());
    for (auto c : list) {
        out.push_back(get_cut(c));
    }
    return out;
}

void set_group_config(schema::GroupConfig::Builder b, const group_config& c) {
    auto streams = b.initStreams(static_cast<unsigned>(c.streams.size()));
    for (unsigned i = 0; i < c.streams.size(); ++i) {
        streams[i].setScope(c.streams[i].scope);
        streams[i].setName(c.streams[i].name);
        set_cut(streams[i].initStart(), c.streams[i].start);
        set_cut(streams[i].initEnd(), c.streams[i].end);
    }
    b.setLeaseMs(c.lease_ms);
    b.setCheckpointIntervalMs(c.checkpoint_interval_ms);
}

group_config get_group_config(schema::GroupConfig::Reader r) {
    group_config c;
    for (auto s : r.getStreams()) {
        c.streams.push_back(group_stream{s.getScope().cStr(), s.getName().cStr(),
                                         get_cut(s.getStart()), get_cut(s.getEnd())});
    }
    c.lease_ms = r.getLeaseMs();
    c.checkpoint_interval_ms = r.getCheckpointIntervalMs();
    return c;
}

void set_group_sync(schema::GroupSync::Builder b, const group_sync& s) {
    b.setReader(s.reader);
    b.setSession(s.session);
    set_offsets(b.initPositions(static_cast<unsigned>(s.positions.size())), s.positions);
    set_offsets(b.initFinished(static_cast<unsigned>(s.finished.size())), s.finished);
    set_offsets(b.initReleased(static_cast<unsigned>(s.released.size())), s.released);
    set_texts(b.initRecorded(static_cast<unsigned>(s.recorded.size())), s.recorded);
    b.setWants(s.wants);
    b.setNonce(s.nonce);
    b.setSyncs(s.syncs);
}

group_sync get_group_sync(schema::GroupSync::Reader r) {
    group_sync s;
    s.reader = r.getReader().cStr();
    s.session = r.getSession();
    s.positions = get_offsets(r.getPositions());
    s.finished = get_offsets(r.getFinished());
    s.released = get_offsets(r.getReleased());
    for (auto t : r.getRecorded()) {
        s.recorded.emplace_back(t.cStr());
    }
    s.wants = r.getWants();
    s.nonce = r.getNonce();
    s.syncs = r.getSyncs();
    return s;
}

}  // namespace codec

using namespace codec;

std::string encode_group_record(const reader_group_record& rec) {
    capnp::MallocMessageBuilder msg;
    auto b = msg.initRoot<schema::ReaderGroupRecord>();
    b.setScope(rec.scope);
    b.setName(rec.name);
    set_group_config(b.initConfig(), rec.config);
    b.setCreatedMs(rec.created_ms);
    b.setGeneration(rec.generation);
    b.setNextSession(rec.next_session);
    auto readers = b.initReaders(static_cast<unsigned>(rec.readers.size()));
    unsigned i = 0;
    for (const auto& [name, m] : rec.readers) {
        auto r = readers[i++];
        r.setName(name);
        r.setSession(m.session);
        r.setNonce(m.nonce);
        r.setSyncs(m.syncs);
        set_offset_map(r.initOwned(static_cast<unsigned>(m.owned.size())), m.owned);
        set_key_set(r.initDone(static_cast<unsigned>(m.done.size())), m.done);
        set_key_set(r.initReleasing(static_cast<unsigned>(m.releasing.size())), m.releasing);
    }
    set_offset_map(b.initUnassigned(static_cast<unsigned>(rec.unassigned.size())), rec.unassigned);
    auto future = b.initFuture(static_cast<unsigned>(rec.future.size()));
    i = 0;
    for (const auto& [key, waiting] : rec.future) {
        auto f = future[i++];
        f.setStream(key.stream.value);
        f.setSegmentId(key.segment.value);
        auto w = f.initWaiting(static_cast<unsigned>(waiting.size()));
        unsigned j = 0;
        for (auto id : waiting) {
            w.set(j++, id.value);
        }
    }
    set_offset_map(b.initFinished(static_cast<unsigned>(rec.finished.size())), rec.finished);
    auto cps = b.initCheckpoints(static_cast<unsigned>(rec.checkpoints.size()));
    for (unsigned k = 0; k < rec.checkpoints.size(); ++k) {
        const auto& cp = rec.checkpoints[k];
        cps[k].setName(cp.name);
        cps[k].setSilent(cp.silent);
        cps[k].setComplete(cp.complete);
        cps[k].setForced(cp.forced);
        cps[k].setCreatedMs(cp.created_ms);
        set_texts(cps[k].initWaiting(static_cast<unsigned>(cp.waiting.size())), cp.waiting);
        set_offset_map(cps[k].initPositions(static_cast<unsigned>(cp.positions.size())),
                       cp.positions);
        set_cuts(cps[k].initCuts(static_cast<unsigned>(cp.cuts.size())), cp.cuts);
    }
    return to_bytes(msg);
}

caf::expected<reader_group_record> decode_group_record(std::string_view bytes) {
    return with_root<schema::ReaderGroupRecord>(
        bytes, "reader group",
        [](schema::ReaderGroupRecord::Reader r) -> caf::expected<reader_group_record> {
            reader_group_record rec;
            rec.scope = r.getScope().cStr();
            rec.name = r.getName().cStr();
            rec.config = get_group_config(r.getConfig());
            rec.created_ms = r.getCreatedMs();
            rec.generation = r.getGeneration();
            rec.next_session = r.getNextSession();
            for (auto m : r.getReaders()) {
                online_reader gm;
                gm.session = m.getSession();
                gm.nonce = m.getNonce();
                gm.syncs = m.getSyncs();
                gm.owned = get_offset_map(m.getOwned());
                gm.done = get_key_set(m.getDone());
                gm.releasing = get_key_set(m.getReleasing());
                rec.readers[m.getName().cStr()] = std::move(gm);
            }
            rec.unassigned = get_offset_map(r.getUnassigned());
            for (auto f : r.getFuture()) {
                auto& waiting = rec.future[segment_key{stream_uid{f.getStream()},
                                                       segment_id{f.getSegmentId()}}];
                for (auto id : f.getWaiting()) {
                    waiting.insert(segment_id{id});
                }
            }
            rec.finished = get_offset_map(r.getFinished());
            for (auto c : r.getCheckpoints()) {
                group_checkpoint cp;
                cp.name = c.getName().cStr();
                cp.silent = c.getSilent();
                cp.complete = c.getComplete();
                cp.forced = c.getForced();
                cp.created_ms = c.getCreatedMs();
                for (auto w : c.getWaiting()) {
                    cp.waiting.insert(w.cStr());
                }
                cp.positions = get_offset_map(c.getPositions());
                cp.cuts = get_cuts(c.getCuts());
                rec.checkpoints.push_back(std::move(cp));
            }
            return rec;
        });
}

}  // namespace pravaha
