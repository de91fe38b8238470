@0xef2180f5bd0a6dae;
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("pravaha::schema");
# Persisted formats of Pravaha. Field numbers are forever: add fields, never renumber or reuse.

struct ContainerOp {
  # One operation of a segment container, as written to its durable log.
  kind @0 :Kind;
  enum Kind {
    createSegment @0;
    append @1;
    sealSegment @2;
    deleteSegment @3;
    setupWriter @4;   # opens a new session (epoch) of a writer id on a segment
  }
  streamUid @1 :UInt64;
  segmentId @2 :UInt64;
  writerHi @3 :UInt64;
  writerLo @4 :UInt64;
  firstEventNumber @5 :Int64;
  lastEventNumber @6 :Int64;
  eventCount @7 :UInt32;
  payload @8 :Data;   # framed events (8-byte header each)
  writerEpoch @9 :UInt32;  # the writer session an append belongs to (0: no session)
  clientLast @10 :Int64 = -1;  # the client's own number of the block's last event (-1: none)
}

struct LogEntry {
  # One group commit of a container: all operations that were flushed together.
  ops @0 :List(ContainerOp);
}

struct SegmentRange {
  segmentId @0 :UInt64;
  keyStart @1 :Float64;
  keyEnd @2 :Float64;
}

struct StreamRecord {
  scope @0 :Text;
  name @1 :Text;
  uid @2 :UInt64;
  state @3 :UInt8;    # 0 active, 1 sealed
  epoch @4 :UInt32;
  segments @5 :List(SegmentRange);
  createdMs @6 :Int64;
}

struct SegmentMeta {
  length @0 :Int64;
  sealed @1 :Bool;
}
