package storage

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Direct writes. By default the flusher writes segment data with O_DIRECT,
// from the log's own buffers to the device, instead of through the page
// cache. Two reasons, both measured on the 2-core VM the project targets:
//
//   - A buffered write of new data makes the kernel allocate page-cache
//     pages. On a VM whose memory the host backs lazily (and takes back when
//     the guest frees it), touching fresh pages is expensive: dd of 2 GiB in
//     256 KiB blocks took 3.98 s of system CPU buffered and 0.29 s with
//     oflag=direct. That copy was half of the broker's CPU under Kafka load.
//   - Readers at the tail copy from the ring the data was written from
//     (ring.go), so the page cache adds nothing for them.
//
// O_DIRECT needs the file offset, the length and the buffer address aligned
// to the device's logical block size. The flusher therefore rewrites the
// last partial block each round: the block's earlier bytes are identical in
// every version, so a reader or a torn write can never see them change.
// fdatasync is still what makes the data durable: it flushes the device's
// write cache and commits extent changes.
//
// Where O_DIRECT is unavailable (tmpfs on older kernels, some network file
// systems), Options.BufferedIO is set or the log is not SyncAlways (see
// enableDirect), the flusher writes through the page cache as before.

// directAlign is the alignment used for O_DIRECT: 4 KiB covers every
// logical block size in common use (512 and 4096 bytes).
const directAlign = 4096

// directFile is a File that can also write around the page cache.
type directFile interface {
	File
	// OpenDirect opens the file a second time with O_DIRECT for
	// WriteDirect. It fails where the file system does not support it.
	OpenDirect() error
	// WriteDirect writes p at off with O_DIRECT. off, len(p) and p's
	// address must be multiples of directAlign.
	WriteDirect(p []byte, off int64) (int, error)
	// CloseDirect closes what OpenDirect opened; the file itself stays
	// open.
	CloseDirect() error
}

func (f *osFile) OpenDirect() error {
	if f.direct != nil {
		return nil
	}
	d, err := os.OpenFile(f.Name(), os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		return err
	}
	f.direct = d
	return nil
}

func (f *osFile) WriteDirect(p []byte, off int64) (int, error) {
	if f.direct == nil {
		return 0, errors.New("storage: file not opened for direct writes")
	}
	return f.direct.WriteAt(p, off)
}

func (f *osFile) CloseDirect() error {
	if f.direct == nil {
		return nil
	}
	err := f.direct.Close()
	f.direct = nil
	return err
}

func (f *osFile) Close() error {
	err := f.File.Close()
	if derr := f.CloseDirect(); err == nil {
		err = derr
	}
	return err
}

// enableDirect switches s to O_DIRECT writes when the log allows it and the
// file system supports it. A failure only means buffered writes.
//
// Only SyncAlways logs write directly: their flusher writes a whole round at
// once. SyncInterval and SyncNever write every append as it comes, under the
// log's mutex, and an O_DIRECT write waits for the device (and rewrites the
// partial last block each time) where a buffered one is a copy.
func (l *Log) enableDirect(s *segment) {
	if l.opts.BufferedIO || l.opts.Sync != SyncAlways || l.directRefused.Load() {
		return
	}
	if d, ok := s.file.(directFile); ok && d.OpenDirect() == nil {
		s.direct = d
	}
}

func alignDown(n int64) int64 { return n &^ (directAlign - 1) }
func alignUp(n int64) int64   { return alignDown(n + directAlign - 1) }

// alignedBuffer returns n bytes whose address is a multiple of directAlign.
func alignedBuffer(n int) []byte {
	raw := make([]byte, n+directAlign)
	skip := int(alignUp(int64(uintptr(unsafe.Pointer(&raw[0])))) - int64(uintptr(unsafe.Pointer(&raw[0]))))
	return raw[skip : skip+n : skip+n]
}

// zeroChunk is the source of zero-fill writes, aligned for O_DIRECT.
var zeroChunk = alignedBuffer(zeroAheadBytes)
