package git

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
)

// A fetch receives one pack. go-git indexes it by inflating every object
// into memory (a 1 GiB blob took 3.2 GB), so before a byte of an object
// reaches go-git, the pack guard reads the object's header and refuses an
// object whose size is over the limit, without inflating it. For a delta,
// the size of the object it builds is read from the first bytes of the
// delta. The rest of each admitted object is inflated as a stream into
// io.Discard, only to find where the next object starts and to check
// that the object is no larger than its header said.

// Pack object types (gitformat-pack).
const (
	packOFSDelta = 6
	packREFDelta = 7
)

// flushEvery is how many admitted bytes the guard gathers before passing
// them on.
const flushEvery = 32 << 10

// maxObjectBytes is the largest object a fetch of src accepts: no object
// larger than a read's total can ever be read, and the bound keeps the
// memory go-git uses to index a pack small.
func maxObjectBytes(src Source) int64 {
	return cmp.Or(max(src.Limits.MaxTotalBytes, 0), DefaultReadOptions().MaxTotalBytes)
}

// guardedStorer is the cache's storage with the packs it receives guarded.
type guardedStorer struct {
	storage.Storer
	maxObject int64
	packDir   string // removes go-git's temporary files of a refused pack
	// drain reads a refused pack to its end instead of failing the write:
	// go-git waits for a local git-upload-pack to exit, which it does not
	// while its output is not read. Over a network the fetch stops at once.
	drain bool
}

// PackfileWriter wraps the storage's pack writer in a pack guard.
func (s *guardedStorer) PackfileWriter() (io.WriteCloser, error) {
	pw, ok := s.Storer.(storer.PackfileWriter)
	if !ok {
		return nil, errors.New("cache storage cannot write packs")
	}
	w, err := pw.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return newPackGuard(w, s.maxObject, s.drain, s.removeTemp), nil
}

// removeTemp removes the temporary pack go-git leaves behind when the pack
// it was writing is cut short.
func (s *guardedStorer) removeTemp() {
	tmp, _ := filepath.Glob(filepath.Join(s.packDir, "tmp_pack_*"))
	for _, p := range tmp {
		_ = os.Remove(p)
	}
}

// packGuard is an io.WriteCloser in front of a pack writer: a goroutine
// parses what is written and passes on only what it admitted.
type packGuard struct {
	pw      *io.PipeWriter
	done    chan error
	dst     io.WriteCloser
	refused func()
	written bool
	// inflated counts the bytes the guard inflated, for tests.
	inflated int64
}

func newPackGuard(dst io.WriteCloser, maxObject int64, drain bool, refused func()) *packGuard {
	pr, pw := io.Pipe()
	g := &packGuard{pw: pw, done: make(chan error, 1), dst: dst, refused: refused}
	go func() {
		err := scanPack(bufio.NewReaderSize(pr, 64<<10), dst, maxObject, &g.inflated)
		if err != nil && drain {
			_, _ = io.Copy(io.Discard, pr) // discarded raw, never inflated
		}
		pr.CloseWithError(cmpErr(err, io.ErrClosedPipe))
		g.done <- err
	}()
	return g
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// Write passes p to the parser; it fails as soon as the parser refuses.
func (g *packGuard) Write(p []byte) (int, error) {
	g.written = g.written || len(p) > 0
	n, err := g.pw.Write(p)
	if err != nil {
		return n, g.wait(err)
	}
	return n, nil
}

// wait returns the parser's error once it has stopped.
func (g *packGuard) wait(writeErr error) error {
	err := <-g.done
	g.done <- err // keep it for Close
	return cmpErr(err, writeErr)
}

// Close ends the pack and closes the writer behind the guard; a refused
// pack leaves no temporary file.
func (g *packGuard) Close() error {
	_ = g.pw.Close()
	err := <-g.done
	closeErr := g.dst.Close()
	if err != nil && g.written { // an empty pack is go-git's to report
		g.refused()
		return err
	}
	return closeErr
}

// scanPack reads a pack from r, checks every object's size against
// maxObject before its content is inflated, and writes the admitted bytes
// to dst.
func scanPack(r *bufio.Reader, dst io.Writer, maxObject int64, inflated *int64) error {
	f := &forwarder{r: r, dst: dst, inflated: inflated}
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return fmt.Errorf("read pack header: %w", err)
	}
	if !bytes.Equal(hdr[:4], []byte("PACK")) {
		return errors.New("not a pack")
	}
	count := binary.BigEndian.Uint32(hdr[8:])
	for i := range count {
		if err := f.object(maxObject); err != nil {
			return fmt.Errorf("pack object %d of %d: %w", i+1, count, err)
		}
	}
	f.hold = false
	if _, err := io.Copy(f, r); err != nil { // the trailing checksum
		return err
	}
	return f.flush()
}

// forwarder reads from r and passes what was read on to dst, holding it
// back while hold is set (an object whose size is not checked yet).
// It is an io.ByteReader, so zlib reads exactly the bytes of one object.
type forwarder struct {
	r       *bufio.Reader
	dst     io.Writer
	pending []byte
	hold    bool
	// inflated counts the bytes inflated.
	inflated *int64
}

func (f *forwarder) ReadByte() (byte, error) {
	c, err := f.r.ReadByte()
	if err != nil {
		return 0, err
	}
	f.pending = append(f.pending, c)
	return c, f.maybeFlush()
}

func (f *forwarder) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.pending = append(f.pending, p[:n]...)
	if ferr := f.maybeFlush(); ferr != nil {
		return n, ferr
	}
	return n, err
}

// Write lets io.Copy(f, r) pass r through f (the pack trailer).
func (f *forwarder) Write(p []byte) (int, error) {
	f.pending = append(f.pending, p...)
	return len(p), f.maybeFlush()
}

func (f *forwarder) maybeFlush() error {
	if f.hold || len(f.pending) < flushEvery {
		return nil
	}
	return f.flush()
}

func (f *forwarder) flush() error {
	if len(f.pending) == 0 {
		return nil
	}
	_, err := f.dst.Write(f.pending)
	f.pending = f.pending[:0]
	return err
}

// object checks and passes on one object.
func (f *forwarder) object(maxObject int64) error {
	f.hold = true
	typ, size, err := f.header()
	if err != nil {
		return err
	}
	if size > maxObject {
		return fmt.Errorf("%w: object of %d bytes is larger than the %d allowed; remove it from the repository history or raise limits.maxTotalSize",
			ErrLimitExceeded, size, maxObject)
	}
	zr, err := zlib.NewReader(f)
	if err != nil {
		return fmt.Errorf("inflate: %w", err)
	}
	defer zr.Close()
	read := int64(0)
	if typ == packOFSDelta || typ == packREFDelta {
		// A delta starts with the size of its base and of what it builds.
		br := &countingByteReader{r: zr}
		_, err := readDeltaSize(br) // the base's size
		var target uint64
		if err == nil {
			target, err = readDeltaSize(br)
		}
		if err != nil {
			return fmt.Errorf("read delta header: %w", err)
		}
		if target > uint64(maxObject) {
			return fmt.Errorf("%w: delta builds an object of %d bytes, larger than the %d allowed; remove it from the repository history or raise limits.maxTotalSize",
				ErrLimitExceeded, target, maxObject)
		}
		read = br.n
		*f.inflated += read
	}
	f.hold = false
	if err := f.flush(); err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, size-read+1))
	*f.inflated += n
	if err != nil {
		return fmt.Errorf("inflate: %w", err)
	}
	if read+n != size {
		return fmt.Errorf("corrupt pack: object holds %d bytes, its header says %d", read+n, size)
	}
	return nil
}

// header reads an object's type and size, and the base reference of a
// delta.
func (f *forwarder) header() (byte, int64, error) {
	c, err := f.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	typ := (c >> 4) & 7
	size := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if shift > 56 {
			return 0, 0, errors.New("corrupt pack: object size too long")
		}
		if c, err = f.ReadByte(); err != nil {
			return 0, 0, err
		}
		size |= int64(c&0x7f) << shift
	}
	switch typ {
	case packOFSDelta:
		for c = 0x80; c&0x80 != 0; {
			if c, err = f.ReadByte(); err != nil {
				return 0, 0, err
			}
		}
	case packREFDelta:
		var base [20]byte
		if _, err := io.ReadFull(f, base[:]); err != nil {
			return 0, 0, err
		}
	case byte(plumbing.CommitObject), byte(plumbing.TreeObject), byte(plumbing.BlobObject), byte(plumbing.TagObject):
	default:
		return 0, 0, fmt.Errorf("corrupt pack: unknown object type %d", typ)
	}
	return typ, size, nil
}

// countingByteReader reads single bytes of inflated delta data.
type countingByteReader struct {
	r io.Reader
	n int64
}

func (b *countingByteReader) ReadByte() (byte, error) {
	var c [1]byte
	if _, err := io.ReadFull(b.r, c[:]); err != nil {
		return 0, err
	}
	b.n++
	return c[0], nil
}

// readDeltaSize reads one size varint of a delta header.
func readDeltaSize(r io.ByteReader) (uint64, error) {
	var size uint64
	for shift := 0; ; shift += 7 {
		if shift > 63 {
			return 0, errors.New("corrupt pack: delta size too long")
		}
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		size |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return size, nil
		}
	}
}
