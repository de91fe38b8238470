@0xbb11b887b52e0283;
# Pravaha's public RPC interface for every language (design.md section 10), served by each node
# on its RPC port (`pravaha-node --rpc-port`, default 9091). The C++ client uses CAF instead.
#
# Errors: every result carries `error`; `error.code` 0 means success. The codes are Pravaha's
# `errc` values (schema/errc.hpp) and `error.name` their stable lowercase names:
#   1 invalid_name, 2 invalid_argument, 3 scope_exists, 4 scope_not_found, 5 scope_not_empty,
#   6 stream_exists, 7 stream_not_found, 8 stream_sealed, 9 stream_not_sealed,
#   10 segment_not_found, 11 segment_sealed, 12 event_too_large, 13 storage_io,
#   14 malformed_message, 15 corrupt_data, 16 timeout, 17 unavailable, 18 bad_offset,
#   19 overloaded, 20 event_number_gap, 21 writer_fenced, 22 not_leader, 23 storage_full (the
#   node's free disk space is below its --min-free-bytes: appends and stream creations are
#   refused until space is freed; reads, seals and deletes work), 24 conflict (another workflow of
#   the stream runs, e.g. a scale: retry later), 25 group_not_found, 26 group_exists (a reader
#   group of that name exists with another configuration), 27 reader_exists (a live reader of the
#   group has that name), 28 reader_offline (the group declared the reader offline, or was reset:
#   rejoin), 29 transaction_not_found, 30 transaction_not_open (writing to a committed or aborted
#   transaction), 31 transaction_aborted (committing an aborted one: its lease or lifetime passed,
#   or it was aborted), 32 transaction_committed (aborting a committed one), 33 transaction_limit
#   (too many open transactions on the stream), 34 transaction_too_large, 35 unauthenticated (the
#   node runs with --token-file and the call came before a successful `authenticate`, or with an
#   unknown token), 36 permission_denied (the token lacks the right the call needs on its scope).
# A call the gateway cannot decode fails as a Cap'n Proto exception on that connection only.
#
# Field names avoid `segment` (it collides with capnp-es's generated base property).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("pravaha::rpc");

struct Error {
  code @0 :UInt8;      # 0: no error
  name @1 :Text;       # e.g. "stream_not_found"
  message @2 :Text;    # human-readable detail
}

struct SegmentInfo {
  id @0 :UInt64;       # epoch << 32 | number
  keyStart @1 :Float64;  # the routing-key range [keyStart, keyEnd) the segment owns
  keyEnd @2 :Float64;
  length @3 :Int64;    # bytes stored
  sealed @4 :Bool;
}

struct StreamInfo {
  scope @0 :Text;
  name @1 :Text;
  sealed @2 :Bool;
  segmentInfos @3 :List(SegmentInfo);   # the current epoch's segments
  epoch @4 :UInt32;                     # the current epoch (0 until the first scale)
  policy @5 :ScalingPolicy;
}

# How a stream scales: "fixed" (by hand only), "events" (target events/s per segment) or
# "kbytes" (target KiB/s per segment); a hot segment splits into at most `factor` parts, cold
# neighbours merge, never below `minSegments`. Validated: target > 0 unless fixed, factor >= 2,
# minSegments >= 1 (`invalid_argument` names the field).
struct ScalingPolicy {
  type @0 :Text;
  target @1 :UInt32;
  factor @2 :UInt32 = 2;
  minSegments @3 :UInt32 = 1;
}

struct KeyRange {
  keyStart @0 :Float64;
  keyEnd @1 :Float64;
}

struct HistorySegment {
  id @0 :UInt64;
  keyStart @1 :Float64;
  keyEnd @2 :Float64;
  sealedLength @3 :Int64;             # -1 while the segment is active
  predecessors @4 :List(UInt64);      # what it replaced, when created by a scale
}

struct EpochInfo {
  epoch @0 :UInt32;
  createdMs @1 :Int64;                # wall-clock milliseconds when the epoch began
  segmentInfos @2 :List(HistorySegment);
  rolled @3 :Bool;                    # made by a transaction's commit (a roll), not by a scale
}

interface Pravaha {
  # The bootstrap capability.
  streamManager @0 () -> (manager :StreamManager);

  # A writer of one stream. With a `writerId` the node keeps that writer's session: an older
  # writer opened with the same id is fenced (`writer_fenced`), and `lastEventNumber` is the
  # highest event number of the id that is stored (-1: none). A client that lost its connection
  # opens the writer again with the same id and writes the calls it got no answer for again,
  # with the same numbers: what was stored is acknowledged, not stored twice, also on segments
  # sealed in between. A call answered with an error is not written again under its numbers
  # (some of its events may be stored, and later ones may follow); after `stream_sealed` or
  # `segment_sealed` it is not written again at all (the events that failed cannot be stored any
  # more, and the others of the call are stored); after other errors write its events again
  # without numbers. Empty `writerId`: a fresh random id (no resends across connections).
  openWriter @1 (scope :Text, stream :Text, writerId :Text)
      -> (writer :EventWriter, lastEventNumber :Int64, error :Error);

  # A reader of every segment of one stream, from its head or its current tail, or from a
  # `position` a reader answered (its `next` results): segments listed there start at their
  # offset, the others at the head or tail. A position taken before a scale names segments of
  # earlier epochs: the reader starts at exactly those and reads what replaced them after them
  # (per key in order). An offset beyond a segment's length: `bad_offset`; a segment not in the
  # stream: `invalid_argument` (or, for an earlier epoch's id, `segment_not_found` from `next`).
  # The head of a scaled stream is its first epoch. The answer's `position` is where the reader
  # starts in every segment.
  openReader @2 (scope :Text, stream :Text, fromTail :Bool, position :List(SegmentPosition))
      -> (reader :EventReader, error :Error, position :List(SegmentPosition));

  # A reader between two stream cuts (as `StreamManager.streamCut` answers them): from `fromCut`
  # (empty: the head), or from a `position` such a reader answered (a reconnect), up to `toCut`
  # (empty: no end but the stream's; the reader is `atEnd` at the cut). A cut of another stream,
  # an offset beyond its segment, or segments that do not cover the key space:
  # `invalid_argument`.
  openReaderBetween @3 (scope :Text, stream :Text, fromCut :Text, toCut :Text,
                        position :List(SegmentPosition))
      -> (reader :EventReader, error :Error, position :List(SegmentPosition));

  # A reader group (created with `StreamManager.createReaderGroup`).
  readerGroup @4 (scope :Text, group :Text) -> (group :ReaderGroup, error :Error);

  # Begins a transaction on the stream: its events are durable as they are written and invisible
  # until `commit`. The node renews its lease while the capability lives; once the capability
  # is dropped (or the connection lost) nobody does, and it is aborted `leaseMs` later.
  # `writerId`: the application's id, kept with the transaction (`listTransactions` shows it) so
  # that a restarted producer finds its transactions. Errors: stream_not_found, stream_sealed,
  # invalid_argument (the lease: 1000 to 600000 ms), transaction_limit.
  beginTransaction @5 (scope :Text, stream :Text, leaseMs :Int64 = 30000, writerId :Text)
      -> (transaction :Transaction, info :TransactionInfo, error :Error);
  # A transaction begun earlier (by id, as `TransactionInfo.id` or `pravaha txn begin` shows it):
  # commit, abort and status work in every state, writing while it is open (its lease is
  # renewed while the capability lives). Errors: transaction_not_found, invalid_argument.
  openTransaction @6 (scope :Text, stream :Text, id :Text)
      -> (transaction :Transaction, info :TransactionInfo, error :Error);

  # A node started with `--token-file` answers every call of the bootstrap capability (and of the
  # stream manager it hands out) with `unauthenticated`: present a token here and use the
  # `Pravaha` capability answered, which may do what the token's rights allow (a call without the
  # right on its scope: `permission_denied`; `listScopes` shows the scopes the token has a right
  # on). An unknown token: `unauthenticated`. Without a token file any token is accepted.
  authenticate @7 (token :Text) -> (pravaha :Pravaha, error :Error);
}

struct Event {
  routingKey @0 :Text;   # events with the same key stay in order
  payload @1 :Data;      # at most 8 MiB
}

interface EventWriter {
  # Writes the events and answers once every one of them is durable (or failed). Events get
  # consecutive numbers: from `firstEventNumber` when it is >= 0 (the client numbers its events;
  # numbers must grow from call to call of one writer object: else `invalid_argument`), else
  # after the highest number used so far (at first `lastEventNumber` + 1 of openWriter). The
  # answer carries the first number and the count. At most 10,000 events and 16 MiB per call;
  # at most 64 MiB unacknowledged per writer (beyond: `overloaded`, write again later).
  write @0 (events :List(Event), firstEventNumber :Int64 = -1)
      -> (firstEventNumber :Int64, count :UInt32, error :Error);
  # Answers once everything written before is acknowledged or failed.
  flush @1 () -> (error :Error);
  # `write` with the events packed into one Data: `count` times the routing key's length
  # (UInt32, little-endian), its UTF-8 bytes, the payload's length (UInt32, little-endian) and
  # the payload. Far cheaper to build where the Cap'n Proto runtime makes an object per list
  # element (JavaScript: the TypeScript client sends this). A blob that is not exactly `count`
  # events: `invalid_argument`, nothing written. Same bounds, numbering and answer as `write`.
  writePacked @2 (packed :Data, count :UInt32, firstEventNumber :Int64 = -1)
      -> (firstEventNumber :Int64, count :UInt32, error :Error);
  # Waits for every write made before to be answered, then ends the writer on the node, as
  # dropping the capability does (for client runtimes that do not release capabilities:
  # capnp-es). Later writes: `invalid_argument`.
  release @3 () -> ();
}

struct SegmentPosition {
  segmentId @0 :UInt64;
  offset @1 :Int64;    # where the next event of the segment starts
}

struct ReadEvent {
  payload @0 :Data;
  segmentId @1 :UInt64;
  offset @2 :Int64;     # where the event starts in its segment
  # A group reader's checkpoint marker (nothing else set): the application stores what it must
  # with this checkpoint; the reader records its position at its next `next`.
  checkpoint @3 :Text;
}

interface EventReader {
  # Up to `maxEvents` events, waiting up to `timeoutMs` when none is there. With timeout 0 an
  # empty answer means the reader caught up with everything stored when it asked. `atEnd`: the
  # stream is sealed and fully read.
  # `position`: where the reader stands after these events, one entry per segment; a reader
  # opened there continues with the event after the last one answered (after a reconnect too).
  next @0 (maxEvents :UInt32, timeoutMs :UInt32)
      -> (events :List(ReadEvent), atEnd :Bool, error :Error, position :List(SegmentPosition));
  # Ends the reader; a group reader leaves its group with its position (before the events
  # `next` fetched and did not answer). Dropping the capability does the same, unanswered.
  close @1 () -> (error :Error);
}

# One stream of a reader group: from `startCut` ("" or "head": the head; "tail": the tail when
# the group is created; or a cut as `streamCut` answers it) up to `endCut` ("": no end).
struct GroupStream {
  scope @0 :Text;
  stream @1 :Text;
  startCut @2 :Text;
  endCut @3 :Text;
}

struct ReaderGroupConfig {
  streams @0 :List(GroupStream);
  leaseMs @1 :Int64 = 10000;               # a reader silent this long is declared offline
  checkpointIntervalMs @2 :Int64 = 30000;  # automatic checkpoints; 0: none
}

struct GroupSegment {
  stream @0 :Text;     # scope/stream
  segmentId @1 :UInt64;
  offset @2 :Int64;
}

struct GroupReaderInfo {
  name @0 :Text;
  segments @1 :List(GroupSegment);
  unreadBytes @2 :Int64;   # -1: not known
}

struct GroupCheckpoint {
  name @0 :Text;
  complete @1 :Bool;
  silent @2 :Bool;         # automatic
  createdMs @3 :Int64;
  cuts @4 :List(Text);     # when complete: one per stream of the group, in order
  forced @5 :Bool;         # completed because a reader it waited for went away: that reader's
                           # segments are at their last reported positions
}

struct ReaderGroupInfo {
  scope @0 :Text;
  name @1 :Text;
  generation @2 :UInt32;
  config @3 :ReaderGroupConfig;
  readers @4 :List(GroupReaderInfo);
  unassigned @5 :List(GroupSegment);
  future @6 :List(GroupSegment);  # successors waiting for predecessors (offset 0)
  checkpoints @7 :List(GroupCheckpoint);
  unreadBytes @8 :Int64;          # -1: not known
}

# A transaction as the controller keeps it.
struct TransactionInfo {
  id @0 :Text;            # 16 hex digits
  scope @1 :Text;
  stream @2 :Text;
  state @3 :Text;         # open, committing, committed, aborting or aborted
  epoch @4 :UInt32;       # the stream's epoch it began in
  writerId @5 :Text;      # the application's writer id (32 hex digits; zeros: none)
  beganMs @6 :Int64;
  leaseMs @7 :Int64;
  deadlineMs @8 :Int64;   # aborted when still open then (maximum lifetime)
  completedMs @9 :Int64;
  commitOrder @10 :UInt64;  # grows in the order commits were asked for (0: none)
  reason @11 :Text;       # why it was aborted: abort, lease, lifetime, sealed
  segments @12 :List(SegmentInfo);  # the segments (of `epoch`) its events go to
}

# One transaction of a stream: events over many keys and segments that readers see all or none
# of. Commit and abort are idempotent; committing an aborted one is `transaction_aborted`,
# aborting a committed one `transaction_committed`.
interface Transaction {
  # The writer of the transaction's events (an `EventWriter`: same bounds, numbering and answers;
  # a write to a transaction no longer open: `transaction_not_open`). One per capability.
  writer @0 () -> (writer :EventWriter, error :Error);
  # Waits for every write made through `writer` to be answered, then commits; answers once every
  # event is visible, each segment's part whole and per key in write order (also when the
  # stream scaled since it began: the commit rolls it forward).
  commit @1 () -> (info :TransactionInfo, error :Error);
  abort @2 () -> (info :TransactionInfo, error :Error);
  status @3 () -> (info :TransactionInfo, error :Error);
  # Stops renewing the lease now, as dropping the capability does (for client runtimes that do
  # not release capabilities: capnp-es): an undecided transaction is aborted when it runs out.
  release @4 () -> ();
}

# Readers that share streams: each segment is read by one of them at a time; a reader silent for
# its lease is declared offline and its segments go to the others from its last position.
interface ReaderGroup {
  info @0 () -> (info :ReaderGroupInfo, error :Error);
  # Begins checkpoint `name` and answers once every online reader recorded its position: one
  # cut per stream of the group.
  checkpoint @1 (name :Text) -> (cuts :List(Text), error :Error);
  # Rewinds to completed checkpoint `checkpoint`, or (empty) to `cuts`, one per stream: every
  # reader gets `reader_offline` and joins again. Answers the new generation.
  reset @2 (checkpoint :Text, cuts :List(Text)) -> (generation :UInt32, error :Error);
  # Joins as reader `name` (unique among the live readers: else `reader_exists`). Its `next`
  # answers the group's events for it and checkpoint markers; `reader_offline` once the group
  # declared it offline or was reset (open a new reader to join again).
  openReader @3 (name :Text) -> (reader :EventReader, error :Error);
}

interface StreamManager {
  createScope @0 (scope :Text) -> (error :Error);
  deleteScope @1 (scope :Text) -> (error :Error);
  listScopes @2 () -> (scopes :List(Text), error :Error);
  createStream @3 (scope :Text, stream :Text, segments :UInt32) -> (info :StreamInfo, error :Error);
  listStreams @4 (scope :Text) -> (streams :List(Text), error :Error);
  streamInfo @5 (scope :Text, stream :Text) -> (info :StreamInfo, error :Error);
  sealStream @6 (scope :Text, stream :Text) -> (error :Error);
  deleteStream @7 (scope :Text, stream :Text) -> (error :Error);  # only sealed streams
  # A stream with a scaling policy (createStream's streams are fixed).
  createScalingStream @8 (scope :Text, stream :Text, segments :UInt32, policy :ScalingPolicy)
      -> (info :StreamInfo, error :Error);
  # Replaces the policy ("fixed" stops automatic scaling; nothing is rescaled by it).
  updateStream @9 (scope :Text, stream :Text, policy :ScalingPolicy)
      -> (info :StreamInfo, error :Error);
  # Seals `seal` (segments of the current epoch, adjacent) and replaces them by segments with
  # the ranges `create`, which cover exactly what they covered (a split: one into equal parts; a
  # merge: neighbours into one). Answers the new epoch and its new segments once it is current.
  # `conflict` while another scale, a seal or a delete of the stream runs; `invalid_argument`
  # names what is wrong ("not adjacent", "not in the current epoch (E)").
  scaleStream @10 (scope :Text, stream :Text, seal :List(UInt64), create :List(KeyRange),
                   expectedEpoch :UInt32)
      -> (epoch :UInt32, created :List(SegmentInfo), error :Error);
  # Every epoch, oldest first.
  history @11 (scope :Text, stream :Text) -> (epochs :List(EpochInfo), error :Error);
  # The stream's tail (or, with `head`, its head) as one token "UID:E.N@OFFSET,...".
  streamCut @12 (scope :Text, stream :Text, head :Bool) -> (cut :Text, error :Error);
  # Reader groups: created (a retry with the same configuration answers the group; another
  # configuration: `group_exists`), deleted, listed by scope.
  createReaderGroup @13 (scope :Text, group :Text, config :ReaderGroupConfig)
      -> (group :ReaderGroup, info :ReaderGroupInfo, error :Error);
  deleteReaderGroup @14 (scope :Text, group :Text) -> (error :Error);
  listReaderGroups @15 (scope :Text) -> (groups :List(Text), error :Error);
  # The stream's transactions: open and committing ones, and completed ones still kept (24 h);
  # with a `writerId` (as given to `beginTransaction`) only that writer's (a restarted producer
  # finds its own).
  listTransactions @16 (scope :Text, stream :Text, writerId :Text)
      -> (transactions :List(TransactionInfo), error :Error);
}
