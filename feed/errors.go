package feed

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (errors.Is), and its message names the file, archive entry, line or record
// concerned, so a caller can both branch on the kind and show the reason.
var (
	// ErrUnknownFormat: the content is not one of the formats Load reads
	// (OSV JSON, KEV catalog, EPSS CSV, zip, tar, gzip).
	ErrUnknownFormat = errors.New("unknown feed format")
	// ErrArchive: an archive is malformed or hostile (path traversal, links
	// or devices, too many entries, compression bomb).
	ErrArchive = errors.New("bad archive")
	// ErrInvalidRecord: a record parsed but breaks the format's rules
	// (truncated or invalid JSON, missing id, unknown ecosystem, malformed
	// range, bad KEV or EPSS row).
	ErrInvalidRecord = errors.New("invalid record")
	// ErrTooLarge: a file, entry, archive or download exceeds a limit in
	// Options. Archive bombs wrap both ErrTooLarge and ErrArchive.
	ErrTooLarge = errors.New("too large")
	// ErrDownload: a sync request failed, was answered with a non-200
	// status, or its body was cut short.
	ErrDownload = errors.New("download failed")
)

// kindError carries a message and the sentinel it belongs to, without
// repeating the sentinel's text in the message.
type kindError struct {
	kinds []error
	msg   string
}

func (e *kindError) Error() string   { return e.msg }
func (e *kindError) Unwrap() []error { return e.kinds }

// errorf builds an error of kind (or kinds) with a formatted message. A %w
// verb in format is honoured too, so underlying causes stay reachable.
func errorf(kind error, format string, args ...any) error {
	return kindsf([]error{kind}, format, args...)
}

func kindsf(kinds []error, format string, args ...any) error {
	inner := fmt.Errorf(format, args...)
	all := append([]error{}, kinds...)
	if u, ok := inner.(interface{ Unwrap() error }); ok && u.Unwrap() != nil {
		all = append(all, u.Unwrap())
	} else if u, ok := inner.(interface{ Unwrap() []error }); ok {
		all = append(all, u.Unwrap()...)
	}
	return &kindError{kinds: all, msg: inner.Error()}
}

// at prefixes err with a location ("file", "entry", "record X", "line 3").
func at(loc string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", loc, err)
}
