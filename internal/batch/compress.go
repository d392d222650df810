package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// DefaultMaxDecompressed caps the decompressed records block of one batch.
const DefaultMaxDecompressed = 64 << 20

// xerialMagic starts a snappy block framed the way snappy-java frames it:
// the magic, two int32 versions, then chunks of int32 length + raw block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

func compress(dst, plain []byte, c Compression) ([]byte, error) {
	switch c {
	case Gzip:
		buf := bytes.NewBuffer(dst)
		w := gzip.NewWriter(buf)
		if _, err := w.Write(plain); err != nil {
			return dst, fmt.Errorf("batch: gzip: %w", err)
		}
		if err := w.Close(); err != nil {
			return dst, fmt.Errorf("batch: gzip: %w", err)
		}
		return buf.Bytes(), nil
	case Snappy:
		return append(dst, s2.EncodeSnappy(nil, plain)...), nil
	case LZ4:
		buf := bytes.NewBuffer(dst)
		w := lz4.NewWriter(buf)
		if _, err := w.Write(plain); err != nil {
			return dst, fmt.Errorf("batch: lz4: %w", err)
		}
		if err := w.Close(); err != nil {
			return dst, fmt.Errorf("batch: lz4: %w", err)
		}
		return buf.Bytes(), nil
	case Zstd:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return dst, fmt.Errorf("batch: zstd: %w", err)
		}
		defer enc.Close()
		return enc.EncodeAll(plain, dst), nil
	}
	return dst, fmt.Errorf("%w: compression %d", ErrUnsupported, c)
}

// decompress returns the records block of a batch, at most limit bytes.
// Every codec stops once limit is passed, before producing the rest.
func (d *Decoder) decompress(src []byte, c Compression, limit int) ([]byte, error) {
	d.src.Reset(src)
	defer d.src.Reset(nil) // do not pin the caller's batch in a pooled Decoder
	switch c {
	case Gzip:
		if d.gzip == nil {
			d.gzip = new(gzip.Reader)
		}
		if err := d.gzip.Reset(&d.src); err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		return readLimited(d.gzip, limit, "gzip")
	case Snappy:
		if bytes.HasPrefix(src, xerialMagic) {
			return decodeXerial(src, limit)
		}
		return decodeSnappyBlock(nil, src, limit)
	case LZ4:
		if d.lz4 == nil {
			d.lz4 = lz4.NewReader(nil)
		}
		d.lz4.Reset(&d.src)
		out, err := readLimited(d.lz4, limit, "lz4")
		// Hand the frame's block buffers (megabytes, sized by the
		// frame header) back to lz4's pool on every path: the reader
		// only returns them itself after a clean end of stream.
		d.lz4.Reset(nil)
		return out, err
	case Zstd:
		if d.zstd == nil || d.zstdLimit != limit {
			if d.zstd != nil {
				d.zstd.Close()
			}
			// WithDecoderMaxMemory also caps the window and is checked
			// block by block while decoding.
			zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderLowmem(true))
			if err != nil {
				return nil, fmt.Errorf("batch: zstd: %w", err)
			}
			d.zstd, d.zstdLimit = zd, limit
		}
		out, err := d.zstd.DecodeAll(src, nil)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, fmt.Errorf("%w: zstd block over %d bytes", ErrTooLarge, limit)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: compression %d", ErrUnsupported, c)
}

// readLimited reads r to the end, failing once more than limit bytes come
// out; the buffer only grows as data actually arrives.
func readLimited(r io.Reader, limit int, codec string) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, codec, err)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("%w: %s block over %d bytes", ErrTooLarge, codec, limit)
	}
	return out, nil
}

func decodeSnappyBlock(dst, src []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
	}
	if n > limit-len(dst) {
		return nil, fmt.Errorf("%w: snappy block over %d bytes", ErrTooLarge, limit)
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	if _, err := s2.Decode(dst[start:], src); err != nil {
		return nil, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
	}
	return dst, nil
}

func decodeXerial(src []byte, limit int) ([]byte, error) {
	if len(src) < xerialHeaderSize {
		return nil, fmt.Errorf("%w: xerial snappy header truncated", ErrCorrupt)
	}
	src = src[xerialHeaderSize:]
	var out []byte
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, fmt.Errorf("%w: xerial snappy chunk length truncated", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(src)
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return nil, fmt.Errorf("%w: xerial snappy chunk overruns block", ErrCorrupt)
		}
		var err error
		if out, err = decodeSnappyBlock(out, src[:n], limit); err != nil {
			return nil, err
		}
		src = src[n:]
	}
	return out, nil
}
