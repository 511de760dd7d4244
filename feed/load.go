package feed

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/safeguard-dev/safeguard/advisory"
)

// Batch is what one import or sync produced.
type Batch struct {
	// Advisories includes withdrawn records (Withdrawn != nil): the store
	// uses them to retire what it already holds.
	Advisories []advisory.Advisory

	KEV               []advisory.KEV
	KEVCatalogVersion string
	// KEVComplete is true when KEV came from a whole catalog (with its
	// catalogVersion and a count that matches), which replaces the old one;
	// a bare array of entries is a partial list and leaves it false.
	KEVComplete bool

	EPSS             []advisory.EPSS
	EPSSModelVersion string
	EPSSScoreDate    string

	// Sources lists the files, archives and URLs read (an archive counts
	// once, not per entry).
	Sources []string
	// Skipped lists records deliberately left out. Records that are merely
	// unmatchable (GIT-only ranges, no affected packages) are kept, not
	// skipped; non-.json archive members such as LICENSE are ignored
	// silently.
	Skipped []Skip
}

// Skip is one deliberately skipped item.
type Skip struct {
	File   string `json:"file"`   // file, "archive: entry" or URL
	ID     string `json:"id"`     // record id, if any
	Reason string `json:"reason"` // why it was left out
}

// Options bounds what Load and Syncer will read. Zero fields take the
// defaults below.
type Options struct {
	// MaxFileBytes caps one file, archive member or decompressed single
	// stream. Default DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxArchiveBytes caps the decompressed bytes read from one archive and
	// the size of one download. Default DefaultMaxArchiveBytes.
	MaxArchiveBytes int64
	// MaxEntries caps the members of one archive or the files of one
	// directory tree. Default DefaultMaxEntries.
	MaxEntries int
}

// Defaults. They are sized for the largest real feeds with headroom: an
// osv.dev per-ecosystem all.zip holds tens of thousands of records and a
// few hundred MB of JSON (Debian and Ubuntu are the largest), the biggest
// single OSV record is a few MB, the full EPSS CSV is about 15 MB.
const (
	DefaultMaxFileBytes    int64 = 128 << 20
	DefaultMaxArchiveBytes int64 = 2 << 30
	DefaultMaxEntries            = 500_000

	// maxRatio is the largest decompressed:compressed ratio accepted for a
	// zip member or a gzip stream once it has produced ratioFloor bytes.
	// JSON and CSV feeds compress 4–20×; deflate bombs run near 1000×.
	maxRatio   = 200
	ratioFloor = 1 << 20
)

func (o Options) withDefaults() Options {
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxArchiveBytes <= 0 {
		o.MaxArchiveBytes = DefaultMaxArchiveBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	return o
}

// Load reads one path: a directory tree of OSV .json files, a single JSON
// file (one OSV record, an array of records, an OSV query-batch style
// {"vulns":[…]}, a KEV catalog or a bare array of KEV entries), an osv.dev
// all.zip, a tar (optionally gzip-compressed) of OSV JSON, or an EPSS CSV
// (optionally gzip-compressed). The format is detected from content, not
// from the name.
//
// Inside directories and archives only members named *.json are read and
// each must hold OSV records; other members (LICENSE, NOTICES, SOURCES.md)
// are ignored, and dot-directories are not descended into.
//
// Any invalid record, hostile archive or exceeded limit fails the whole
// Load with an error naming the file, entry, line or record; the caller
// should then keep its store unchanged.
func Load(path string, opts Options) (*Batch, error) {
	l := newLoader(opts, expectAny)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		err = l.loadDir(path)
	} else {
		err = l.loadPath(path, path)
	}
	if err != nil {
		return nil, err
	}
	return l.b, nil
}

// expect restricts which kinds of content a loader accepts: Load takes
// anything, each Sync method only its own feed.
type expect int

const (
	expectAny expect = iota
	expectOSV
	expectKEV
	expectEPSS
)

// loader accumulates one Batch. It is the only mutable state, one per call.
type loader struct {
	opts   Options
	expect expect
	b      *Batch
	seen   map[string]seenRecord
	src    string // file or URL being read, for Skip.File
}

type seenRecord struct {
	idx  int    // index in b.Advisories
	file string // where it came from
}

func newLoader(opts Options, e expect) *loader {
	return &loader{opts: opts.withDefaults(), expect: e, b: &Batch{}, seen: map[string]seenRecord{}}
}

// loadDir walks a directory tree for OSV .json files, in lexical order so
// that results and errors are reproducible.
func (l *loader) loadDir(root string) error {
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isJSONName(d.Name()) {
			return nil
		}
		if !d.Type().IsRegular() {
			l.b.Skipped = append(l.b.Skipped, Skip{File: p, Reason: "not a regular file (symbolic links are not followed)"})
			return nil
		}
		n++
		if n > l.opts.MaxEntries {
			return at(root, errorf(ErrTooLarge, "more than %d .json files", l.opts.MaxEntries))
		}
		data, err := readFile(p, l.opts.MaxFileBytes)
		if err != nil {
			return err
		}
		l.b.Sources = append(l.b.Sources, p)
		l.src = p
		return at(p, l.parseJSON("", data, false))
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return at(root, errorf(ErrUnknownFormat, "directory holds no .json files"))
	}
	return nil
}

// loadPath reads one file, shown in messages and Sources as name.
func (l *loader) loadPath(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return at(name, errorf(ErrUnknownFormat, "not a regular file"))
	}
	l.b.Sources = append(l.b.Sources, name)
	l.src = name
	return at(name, l.loadFile(f, fi.Size()))
}

// loadFile dispatches on magic bytes. It reads through a section reader so
// the file's own offset (left at the end by a download) does not matter.
func (l *loader) loadFile(ra io.ReaderAt, size int64) error {
	f := io.NewSectionReader(ra, 0, size)
	head := make([]byte, 512)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return err
	}
	head = head[:n]
	switch {
	case isZip(head):
		return l.loadZip(f, size)
	case isGzip(head):
		return l.loadGzip(f)
	case isTar(head):
		return l.loadTar(newGuard(f, nil, l.opts.MaxArchiveBytes))
	}
	if size > l.opts.MaxFileBytes {
		return errorf(ErrTooLarge, "file is %d bytes, limit %d", size, l.opts.MaxFileBytes)
	}
	data, err := readLimited(f, l.opts.MaxFileBytes)
	if err != nil {
		return err
	}
	return l.parseText(data)
}

// parseText handles an uncompressed, non-archive stream: JSON or EPSS CSV.
func (l *loader) parseText(data []byte) error {
	t := trimBOM(data)
	switch {
	case len(t) > 0 && (t[0] == '{' || t[0] == '['):
		return l.parseJSON("", data, true)
	case looksLikeEPSS(t):
		if l.expect != expectAny && l.expect != expectEPSS {
			return errorf(ErrUnknownFormat, "got an EPSS CSV, expected %s", l.expect)
		}
		return l.parseEPSS(t)
	}
	return errorf(ErrUnknownFormat, "not JSON, zip, gzip, tar or an EPSS CSV (starts with %q)", preview(t))
}

func (e expect) String() string {
	switch e {
	case expectOSV:
		return "OSV records"
	case expectKEV:
		return "a KEV catalog"
	case expectEPSS:
		return "an EPSS CSV"
	}
	return "any feed"
}

func isJSONName(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".json")
}

func isZip(h []byte) bool {
	return bytes.HasPrefix(h, []byte("PK\x03\x04")) || bytes.HasPrefix(h, []byte("PK\x05\x06"))
}

func isGzip(h []byte) bool { return len(h) >= 2 && h[0] == 0x1f && h[1] == 0x8b }

// isTar checks the ustar magic (POSIX "ustar\0" and GNU "ustar  ").
func isTar(h []byte) bool { return len(h) >= 262 && string(h[257:262]) == "ustar" }

func trimBOM(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	return bytes.TrimLeft(b, " \t\r\n")
}

func preview(b []byte) string {
	if len(b) > 32 {
		b = b[:32]
	}
	return string(b)
}

func readFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readLimited(f, max)
	return data, at(path, err)
}

// readLimited reads all of r but never more than max+1 bytes, so the limit
// holds whatever a header claimed.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errorf(ErrTooLarge, "more than %d bytes", max)
	}
	return data, nil
}

// addAdvisory appends a validated record, resolving duplicate ids: an
// identical copy is skipped; of two differing copies the later "modified"
// wins and the other is skipped; differing copies with the same "modified"
// cannot be ordered and fail the load.
func (l *loader) addAdvisory(file string, a advisory.Advisory) error {
	prev, dup := l.seen[a.ID]
	if !dup {
		l.seen[a.ID] = seenRecord{idx: len(l.b.Advisories), file: file}
		l.b.Advisories = append(l.b.Advisories, a)
		return nil
	}
	old := l.b.Advisories[prev.idx]
	switch {
	case ContentHash(old) == ContentHash(a):
		l.b.Skipped = append(l.b.Skipped, Skip{File: file, ID: a.ID, Reason: "identical duplicate of the record in " + prev.file})
	case a.Modified.After(old.Modified):
		l.b.Skipped = append(l.b.Skipped, Skip{File: prev.file, ID: a.ID, Reason: "superseded by a later-modified copy in " + file})
		l.b.Advisories[prev.idx] = a
		l.seen[a.ID] = seenRecord{idx: prev.idx, file: file}
	case old.Modified.After(a.Modified):
		l.b.Skipped = append(l.b.Skipped, Skip{File: file, ID: a.ID, Reason: "older than the copy in " + prev.file})
	default:
		return errorf(ErrInvalidRecord, "record %s: differs from the copy in %s with the same modified time", a.ID, prev.file)
	}
	return nil
}
