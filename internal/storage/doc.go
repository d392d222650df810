// Package storage is the segmented, append-only log of one partition. It
// stores Kafka RecordBatch v2 batches (see package batch) and knows nothing
// of protocols.
//
// # Files
//
// A log is one directory:
//
//	00000000000000000000.log        segment: batches back to back; the name
//	                                is the base offset, 20 digits
//	00000000000000000000.index      sparse offset index of a sealed segment
//	00000000000000000000.timeindex  time index of a sealed segment
//	00000000000000000000.spare      a deleted segment's file kept for
//	                                reuse (recycle.go)
//	meta                            durable start offset
//
// Segments are preallocated ahead of their data (fallocate, or a sparse
// truncate where unsupported), starting at 1 MiB and doubling up to
// SegmentBytes, so the tail of the active segment reads as zeros;
// recovery treats the first header that does not parse (magic 0) as the end. A segment rolls when the next batch would pass SegmentBytes; the
// sealed file is fsynced, trimmed to its data, and then gets its index
// files, each written to a temporary file, fsynced and renamed.
//
// Every stored batch has partitionLeaderEpoch 0 and a base offset equal to
// the end of the batch before it; both fields are outside the CRC, and
// recovery checks them instead.
//
// .index: one entry per indexed batch, big-endian:
//
//	relativeOffset uint32  batch base offset - segment base offset
//	position       uint32  byte position of the batch in the segment
//
// .timeindex: the same entries, in the same order:
//
//	maxTimestamp   int64   largest timestamp of this batch and all before it
//	relativeOffset uint32
//
// An entry is made for the first batch, for every batch that starts at least
// IndexIntervalBytes after the previous entry, and for the last batch of a
// sealed segment. The active segment's index lives only in memory and is
// rebuilt on Open.
//
// meta: startOffset int64 big-endian, then the CRC-32C of those 8 bytes.
//
// # Durability and recovery
//
// One writer per log. Append assigns offsets under a mutex and copies the
// batch into a pending buffer. In SyncAlways mode a background syncer loops:
// take everything pending, write it (with O_DIRECT where the file system
// allows, see direct.go), fdatasync once, then release every waiter it covered; data arriving meanwhile goes
// into the next round (group commit). Readers see only fsynced data. If a
// write or fsync fails the log enters a failed state: nothing more is
// acknowledged and every later Append and Wait returns ErrFailed.
// Small rounds can instead go to a CommitLog shared by all logs (one
// device round for many logs; see commitlog.go), which Open of the commit
// log replays into the segment files before the logs themselves open.
// SyncInterval and SyncNever write at once through the page cache, readers
// see written data, and Wait does not wait: acknowledged data can be lost in
// a crash.
//
// On Open, sealed segments are checked against their index files (their
// last entry must point at a batch that ends the file and is followed by
// the next segment's base offset); if those are missing or wrong the
// segment is rescanned. The tail segment is always rescanned batch by batch,
// checking length, CRC and offset continuity; the first torn, zeroed or
// corrupt batch and everything after it are cut off and the tail is
// zero-filled again before new appends land there.
package storage
