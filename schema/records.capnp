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

struct ScalingPolicy {
  type @0 :UInt8;             # 0 fixed, 1 by events/s, 2 by KiB/s
  target @1 :UInt32;
  factor @2 :UInt32 = 2;
  minSegments @3 :UInt32 = 1;
}

struct ScaleTransition {
  # A running scale from epoch fromEpoch to fromEpoch + 1.
  fromEpoch @0 :UInt32;
  seal @1 :List(UInt64);
  create @2 :List(SegmentRange);
  automatic @3 :Bool;
  startedMs @4 :Int64;
}

struct StreamRecord {
  scope @0 :Text;
  name @1 :Text;
  uid @2 :UInt64;
  state @3 :UInt8;    # 0 active, 1 sealed ("scaling" is hasTransition, never a state)
  epoch @4 :UInt32;
  segments @5 :List(SegmentRange);
  createdMs @6 :Int64;
  policy @7 :ScalingPolicy;        # absent in records written before scaling: fixed
  nextNumber @8 :UInt32;           # 0 in records written before scaling: derived on load
  hasTransition @9 :Bool;
  transition @10 :ScaleTransition;
}

struct HistorySegment {
  segmentId @0 :UInt64;
  keyStart @1 :Float64;
  keyEnd @2 :Float64;
  predecessors @3 :List(UInt64);   # only for a segment created in this epoch by a scale
}

struct SealedLength {
  segmentId @0 :UInt64;
  length @1 :Int64;
}

struct EpochRecord {
  # One epoch of a stream's history (key Mh).
  epoch @0 :UInt32;
  createdMs @1 :Int64;
  segments @2 :List(HistorySegment);
  sealed @3 :List(SealedLength);   # final lengths of the segments this epoch replaced, once known
}

struct KeyRange {
  start @0 :Float64;
  end @1 :Float64;
}

struct ControllerCommand {
  # A controller command in the Raft log that the legacy byte format cannot carry (written as the
  # byte 0x80 followed by this message).
  kind @0 :UInt8;
  scope @1 :Text;
  name @2 :Text;
  segments @3 :UInt32;
  nowMs @4 :Int64;
  policy @5 :ScalingPolicy;
  seal @6 :List(UInt64);
  create @7 :List(KeyRange);
  expectedEpoch @8 :UInt32;
  automatic @9 :Bool;
  targetEpoch @10 :UInt32;
  sealedLengths @11 :List(SealedLength);
}

struct SegmentMeta {
  length @0 :Int64;
  sealed @1 :Bool;
}
