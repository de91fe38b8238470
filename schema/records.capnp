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
    mergeSegment @5;  # moves transaction segment source* behind this segment's length
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
  sourceStreamUid @11 :UInt64;  # mergeSegment: the transaction segment merged
  sourceSegmentId @12 :UInt64;
  limit @13 :Int64;             # createSegment: above 0, a transaction segment of this many bytes
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
  rolling @5 :Bool;                # a rolling transaction: epochs fromEpoch + 1 and + 2
  txns @6 :List(UInt64);           # rolling: the transactions it commits, in commit order
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
  duplicate @4 :Bool;              # made by a roll: repeats the range and container of origin
  origin @5 :UInt64;
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
  rolled @4 :Bool;                 # made by a rolling transaction
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
  group @12 :GroupConfig;          # groupCreate
  sync @13 :GroupSync;             # groupJoin (reader), groupSync, groupLeave, groupOffline
  checkpoint @14 :Text;            # groupCheckpoint, groupReset (a checkpoint's name)
  silent @15 :Bool;                # groupCheckpoint
  cuts @16 :List(StreamCut);       # groupReset (one per stream of the group)
  generation @17 :UInt32;          # groupReset: the generation the caller saw
  txn @18 :UInt64;                 # txnCommit, txnAbort, txnDone
  writerHi @19 :UInt64;            # txnBegin
  writerLo @20 :UInt64;
  leaseMs @21 :Int64;              # txnBegin
  reason @22 :Text;                # txnAbort
}

struct TxnSegment {
  parent @0 :SegmentRange;         # the parent segment (id and key range)
  streamUid @1 :UInt64;            # the transaction segment's own uid (its id is the parent's)
}

struct TxnRecord {
  # A transaction (key Mn + stream uid + id).
  id @0 :UInt64;
  scope @1 :Text;
  stream @2 :Text;
  uid @3 :UInt64;
  epoch @4 :UInt32;
  state @5 :UInt8;                 # 0 open, 1 committing, 2 committed, 3 aborting, 4 aborted
  writerHi @6 :UInt64;
  writerLo @7 :UInt64;
  beganMs @8 :Int64;
  leaseMs @9 :Int64;
  deadlineMs @10 :Int64;
  completedMs @11 :Int64;
  commitOrder @12 :UInt64;
  reason @13 :Text;
  segments @14 :List(TxnSegment);
  mergedEpoch @15 :UInt32;         # committed: the epoch whose segments received its events
}

struct CutSegment {
  segmentId @0 :UInt64;
  keyStart @1 :Float64;
  keyEnd @2 :Float64;
  offset @3 :Int64;
}

struct StreamCut {
  stream @0 :UInt64;
  segments @1 :List(CutSegment);
}

struct GroupStream {
  scope @0 :Text;
  name @1 :Text;
  start @2 :StreamCut;
  end @3 :StreamCut;
}

struct GroupConfig {
  streams @0 :List(GroupStream);
  leaseMs @1 :Int64;
  checkpointIntervalMs @2 :Int64;
}

struct GroupOffset {
  stream @0 :UInt64;
  segmentId @1 :UInt64;
  offset @2 :Int64;
}

struct GroupSync {
  reader @0 :Text;
  session @1 :UInt64;
  positions @2 :List(GroupOffset);
  finished @3 :List(GroupOffset);
  released @4 :List(GroupOffset);
  recorded @5 :List(Text);
  wants @6 :Bool;
  nonce @7 :UInt64;
  syncs @8 :UInt64;                  # an offline: the reports its lease actor had seen
}

struct GroupMember {
  name @0 :Text;
  session @1 :UInt64;
  owned @2 :List(GroupOffset);
  done @3 :List(GroupOffset);        # offsets unused
  releasing @4 :List(GroupOffset);   # offsets unused
  nonce @5 :UInt64;
  syncs @6 :UInt64;                  # reports applied for this session
}

struct GroupFuture {
  stream @0 :UInt64;
  segmentId @1 :UInt64;
  waiting @2 :List(UInt64);          # predecessors not read to their end yet
}

struct GroupCheckpoint {
  name @0 :Text;
  silent @1 :Bool;
  complete @2 :Bool;
  createdMs @3 :Int64;
  waiting @4 :List(Text);
  positions @5 :List(GroupOffset);
  cuts @6 :List(StreamCut);
  forced @7 :Bool;                   # completed by a waited-for reader's removal
}

struct ReaderGroupRecord {
  # A reader group (key Mg).
  scope @0 :Text;
  name @1 :Text;
  config @2 :GroupConfig;
  createdMs @3 :Int64;
  generation @4 :UInt32;
  nextSession @5 :UInt64;
  readers @6 :List(GroupMember);
  unassigned @7 :List(GroupOffset);
  future @8 :List(GroupFuture);
  finished @9 :List(GroupOffset);
  checkpoints @10 :List(GroupCheckpoint);
}

struct SegmentMeta {
  length @0 :Int64;
  sealed @1 :Bool;
  limit @2 :Int64;               # above 0: a transaction segment of at most this many bytes
  merged @3 :Bool;               # a transaction segment merged (a tombstone, empty)
  mergedIntoUid @4 :UInt64;      # ... into this segment, its bytes from mergedAt
  mergedIntoSegment @5 :UInt64;
  mergedAt @6 :Int64;
}
