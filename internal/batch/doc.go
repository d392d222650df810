// Package batch encodes and decodes Kafka RecordBatch v2 (magic 2), which is
// also Gannet's on-disk record format: a Kafka fetch can be answered with the
// stored bytes, and every other protocol writes uncompressed batches in the
// same layout.
//
// # Batch layout
//
// All fixed-width integers are big-endian. Offsets are byte positions inside
// the batch.
//
//	 0  baseOffset            int64   offset of the first record
//	 8  batchLength           int32   bytes that follow this field (total size - 12)
//	12  partitionLeaderEpoch  int32
//	16  magic                 int8    always 2
//	17  crc                   uint32  CRC-32C (Castagnoli) of bytes 21..end
//	21  attributes            int16   bits 0-2 compression (0 none, 1 gzip,
//	                                  2 snappy, 3 lz4, 4 zstd); bit 3 timestamp
//	                                  type (1 = log append time); bit 4
//	                                  transactional; bit 5 control batch
//	23  lastOffsetDelta       int32   offset of the last record - baseOffset
//	27  baseTimestamp         int64   unix milliseconds
//	35  maxTimestamp          int64   largest record timestamp
//	43  producerId            int64   -1 when there is no idempotent producer
//	51  producerEpoch         int16
//	53  baseSequence          int32
//	57  recordCount           int32
//	61  records               the records, compressed as one block when the
//	                          compression bits are non-zero
//
// The base offset and the leader epoch sit outside the CRC, so a broker can
// assign offsets by rewriting the first eight bytes without recomputing it.
//
// # Record layout
//
// Records use zigzag variable-length integers ("varint" for 32-bit values,
// "varlong" for 64-bit ones, both encoded in at most 10 bytes, 7 bits per
// byte, least significant group first):
//
//	length          varint   bytes of the record after this field
//	attributes      int8     unused, 0
//	timestampDelta  varlong  timestamp - baseTimestamp
//	offsetDelta     varint   offset - baseOffset
//	keyLength       varint   -1 for a null key
//	key             bytes
//	valueLength     varint   -1 for a null value
//	value           bytes
//	headerCount     varint
//	headers         headerCount times:
//	    keyLength   varint
//	    key         bytes (UTF-8)
//	    valueLength varint   -1 for a null value
//	    value       bytes
//
// # Compression
//
// gzip is RFC 1952; snappy is accepted both as a raw block and in the xerial
// framing used by older Java clients (encoded as a raw block); lz4 is the LZ4
// frame format; zstd is a standard zstd frame. Decoders cap the decompressed
// size (DefaultMaxDecompressed unless told otherwise) so a hostile batch
// cannot exhaust memory.
package batch
