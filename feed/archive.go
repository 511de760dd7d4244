package feed

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"strings"
)

// bombError marks a size violation inside an archive: it is both a hostile
// archive and a size limit, so it wraps both sentinels.
func bombError(format string, args ...any) error {
	return kindsf([]error{ErrArchive, ErrTooLarge}, format, args...)
}

// checkEntryName rejects member names that would escape an extraction
// directory. Nothing is extracted here, but a feed carrying such names is
// hostile or broken either way, and callers may unpack it elsewhere.
func checkEntryName(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	switch {
	case name == "":
		return errorf(ErrArchive, "entry with an empty name")
	case strings.ContainsRune(name, 0):
		return errorf(ErrArchive, "entry %q: NUL in name", name)
	case strings.HasPrefix(n, "/"):
		return errorf(ErrArchive, "entry %q: absolute path", name)
	case len(n) >= 2 && n[1] == ':' && (n[0]|0x20 >= 'a' && n[0]|0x20 <= 'z'):
		return errorf(ErrArchive, "entry %q: drive-letter path", name)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return errorf(ErrArchive, "entry %q: path traversal", name)
		}
	}
	return nil
}

// loadZip reads an osv.dev-style all.zip. Header sizes are used only to
// refuse early; the real limits are enforced on the bytes actually
// decompressed.
func (l *loader) loadZip(r io.ReaderAt, size int64) error {
	// archive/zip allocates for every central-directory record before we
	// could count them, so check the declared count first.
	if n, ok := zipDeclaredEntries(r, size); ok && n > uint64(l.opts.MaxEntries) {
		return bombError("zip declares %d entries, limit %d", n, l.opts.MaxEntries)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return errorf(ErrArchive, "zip: %w", err)
	}
	if len(zr.File) > l.opts.MaxEntries {
		return bombError("zip has %d entries, limit %d", len(zr.File), l.opts.MaxEntries)
	}
	var total int64
	jsonFiles := 0
	for _, f := range zr.File {
		if err := checkEntryName(f.Name); err != nil {
			return err
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			return errorf(ErrArchive, "entry %q: symbolic link", f.Name)
		case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0:
			return errorf(ErrArchive, "entry %q: not a regular file (%v)", f.Name, mode.Type())
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			continue
		}
		if !isJSONName(f.Name) {
			continue
		}
		jsonFiles++
		if err := l.zipEntry(f, &total); err != nil {
			return at(f.Name, err)
		}
	}
	if jsonFiles == 0 {
		return errorf(ErrUnknownFormat, "zip holds no .json entries")
	}
	return nil
}

// zipDeclaredEntries reads the entry count from the end-of-central-directory
// record (or its zip64 form). ok is false when no such record is found;
// zip.NewReader then reports the damage.
func zipDeclaredEntries(r io.ReaderAt, size int64) (n uint64, ok bool) {
	const eocdLen = 22
	tail := int64(eocdLen + 65535) // the record plus the longest comment
	if tail > size {
		tail = size
	}
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, false
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < eocdLen {
		return 0, false
	}
	n = uint64(binary.LittleEndian.Uint16(buf[i+10:]))
	if n != 0xffff {
		return n, true
	}
	// zip64: the locator sits just before the EOCD record and points at
	// the zip64 EOCD record, whose entry count is at offset 32.
	if i < 20 || string(buf[i-20:i-16]) != "PK\x06\x07" {
		return n, true
	}
	off := int64(binary.LittleEndian.Uint64(buf[i-20+8:]))
	rec := make([]byte, 40)
	if off < 0 || off > size-40 {
		return n, true
	}
	if _, err := r.ReadAt(rec, off); err != nil || string(rec[:4]) != "PK\x06\x06" {
		return n, true
	}
	return binary.LittleEndian.Uint64(rec[32:]), true
}

func (l *loader) zipEntry(f *zip.File, total *int64) error {
	if f.Flags&0x1 != 0 {
		return errorf(ErrArchive, "encrypted entry")
	}
	usize, csize := f.UncompressedSize64, f.CompressedSize64
	if usize > uint64(l.opts.MaxFileBytes) {
		return bombError("entry declares %d bytes, limit %d", usize, l.opts.MaxFileBytes)
	}
	if usize > ratioFloor && usize > maxRatio*csize {
		return bombError("entry declares compression ratio %d:1 (%d from %d bytes), limit %d:1", usize/max(csize, 1), usize, csize, maxRatio)
	}
	rc, err := f.Open()
	if err != nil {
		return errorf(ErrArchive, "open: %w", err)
	}
	defer rc.Close()
	data, err := readLimited(rc, l.opts.MaxFileBytes)
	if err != nil {
		if isKind(err, ErrTooLarge) {
			return bombError("entry inflates past %d bytes", l.opts.MaxFileBytes)
		}
		return errorf(ErrArchive, "read: %w", err)
	}
	n := uint64(len(data))
	if n > ratioFloor && n > maxRatio*csize {
		return bombError("entry inflates %d:1 (%d from %d bytes), limit %d:1", n/max(csize, 1), n, csize, maxRatio)
	}
	*total += int64(n)
	if *total > l.opts.MaxArchiveBytes {
		return bombError("archive inflates past %d bytes", l.opts.MaxArchiveBytes)
	}
	return l.parseJSON(f.Name, data, false)
}

// loadGzip decompresses a gzip stream and reads what is inside: a tar, or a
// single JSON or CSV document.
func (l *loader) loadGzip(r io.Reader) error {
	cr := &countingReader{r: r}
	gz, err := gzip.NewReader(bufio.NewReader(cr))
	if err != nil {
		return errorf(ErrArchive, "gzip: %w", err)
	}
	defer gz.Close()
	g := newGuard(gz, &cr.n, l.opts.MaxArchiveBytes)
	br := bufio.NewReaderSize(g, 64<<10)
	head, err := br.Peek(512)
	if err != nil && err != io.EOF {
		return gzipError(err)
	}
	if isTar(head) {
		if err := l.loadTar(br); err != nil {
			return err
		}
		// Drain to the gzip trailer so its checksum is verified.
		if _, err := io.Copy(io.Discard, br); err != nil {
			return gzipError(err)
		}
		return nil
	}
	data, err := readLimited(br, l.opts.MaxFileBytes)
	if err != nil {
		if isKind(err, ErrTooLarge) && !isKind(err, ErrArchive) {
			return bombError("gzip stream inflates past %d bytes", l.opts.MaxFileBytes)
		}
		return gzipError(err)
	}
	return l.parseText(data)
}

func gzipError(err error) error {
	if isKind(err, ErrArchive) || isKind(err, ErrTooLarge) {
		return err
	}
	return errorf(ErrArchive, "gzip: %w", err)
}

// loadTar reads OSV .json members of a tar. Only regular files and
// directories are accepted: links and devices have no business in a feed,
// and a link could point a later extraction outside its directory.
func (l *loader) loadTar(r io.Reader) error {
	tr := tar.NewReader(r)
	entries, jsonFiles := 0, 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return gzipOrTar(err)
		}
		entries++
		if entries > l.opts.MaxEntries {
			return bombError("tar has more than %d entries", l.opts.MaxEntries)
		}
		if err := checkEntryName(hdr.Name); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir, tar.TypeXGlobalHeader:
			continue
		case tar.TypeSymlink, tar.TypeLink:
			return errorf(ErrArchive, "entry %q: link to %q", hdr.Name, hdr.Linkname)
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return errorf(ErrArchive, "entry %q: device or fifo", hdr.Name)
		default:
			return errorf(ErrArchive, "entry %q: unsupported tar entry type %q", hdr.Name, hdr.Typeflag)
		}
		if !isJSONName(hdr.Name) {
			continue
		}
		jsonFiles++
		if hdr.Size > l.opts.MaxFileBytes {
			return at(hdr.Name, bombError("entry declares %d bytes, limit %d", hdr.Size, l.opts.MaxFileBytes))
		}
		data, err := readLimited(tr, l.opts.MaxFileBytes)
		if err != nil {
			return at(hdr.Name, gzipOrTar(err))
		}
		if err := l.parseJSON(hdr.Name, data, false); err != nil {
			return at(hdr.Name, err)
		}
	}
	if jsonFiles == 0 {
		return errorf(ErrUnknownFormat, "tar holds no .json entries")
	}
	return nil
}

func gzipOrTar(err error) error {
	if isKind(err, ErrArchive) || isKind(err, ErrTooLarge) {
		return err
	}
	return errorf(ErrArchive, "tar: %w", err)
}

// countingReader counts the compressed bytes consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// guard enforces the archive limits on a decompressed stream as it is read:
// total size, and the ratio to the compressed bytes consumed so far.
type guard struct {
	r          io.Reader
	compressed *int64 // nil: not compressed, no ratio check
	n, max     int64
}

func newGuard(r io.Reader, compressed *int64, max int64) *guard {
	return &guard{r: r, compressed: compressed, max: max}
}

func (g *guard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.n > g.max {
		return n, bombError("archive inflates past %d bytes", g.max)
	}
	if g.compressed != nil && g.n > ratioFloor && g.n > maxRatio*max(*g.compressed, 1) {
		return n, bombError("stream inflates %d:1 (%d from %d bytes), limit %d:1", g.n/max(*g.compressed, 1), g.n, *g.compressed, maxRatio)
	}
	return n, err
}

func isKind(err, kind error) bool { return errors.Is(err, kind) }
