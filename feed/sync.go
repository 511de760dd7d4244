package feed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Default download locations.
const (
	DefaultOSVBaseURL = "https://osv-vulnerabilities.storage.googleapis.com"
	DefaultKEVURL     = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
	DefaultEPSSURL    = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
)

// Syncer downloads feeds. Empty URLs take the defaults above; tests point
// them at httptest servers. A nil Client means a plain http.Client (the
// context given to each call bounds it). Downloads are spooled to a
// temporary file, removed afterwards, so an all.zip can be read with random
// access without holding it in memory; Opts.MaxArchiveBytes caps each
// download.
type Syncer struct {
	OSVBaseURL, KEVURL, EPSSURL string
	Client                      *http.Client
	Opts                        Options
}

// SyncOSV fetches {OSVBaseURL}/{ecosystem}/all.zip for each ecosystem (names
// path-escaped, "Rocky Linux" → "Rocky%20Linux") and merges them into one
// Batch. Records shared between ecosystems (one GHSA naming npm and PyPI
// packages) appear in several zips; identical copies are kept once.
func (s *Syncer) SyncOSV(ctx context.Context, ecosystems []string) (*Batch, error) {
	if len(ecosystems) == 0 {
		return nil, fmt.Errorf("feed: SyncOSV: no ecosystems given")
	}
	base := strings.TrimRight(or(s.OSVBaseURL, DefaultOSVBaseURL), "/")
	l := newLoader(s.Opts, expectOSV)
	for _, eco := range ecosystems {
		if eco == "" || strings.Contains(eco, "/") {
			return nil, fmt.Errorf("feed: SyncOSV: bad ecosystem name %q", eco)
		}
		u := base + "/" + url.PathEscape(eco) + "/all.zip"
		if err := s.fetch(ctx, l, u); err != nil {
			return nil, err
		}
	}
	return l.b, nil
}

// SyncKEV fetches the CISA KEV catalog.
func (s *Syncer) SyncKEV(ctx context.Context) (*Batch, error) {
	l := newLoader(s.Opts, expectKEV)
	u := or(s.KEVURL, DefaultKEVURL)
	if err := s.fetch(ctx, l, u); err != nil {
		return nil, err
	}
	if len(l.b.KEV) == 0 && !l.b.KEVComplete {
		return nil, errorf(ErrUnknownFormat, "%s: no KEV entries in the response", u)
	}
	return l.b, nil
}

// SyncEPSS fetches the current EPSS scores (a gzip-compressed CSV).
func (s *Syncer) SyncEPSS(ctx context.Context) (*Batch, error) {
	l := newLoader(s.Opts, expectEPSS)
	if err := s.fetch(ctx, l, or(s.EPSSURL, DefaultEPSSURL)); err != nil {
		return nil, err
	}
	return l.b, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fetch downloads u to a temporary file and loads it into l.
func (s *Syncer) fetch(ctx context.Context, l *loader, u string) error {
	client := s.Client
	if client == nil {
		client = &http.Client{}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return at(u, errorf(ErrDownload, "%w", err))
	}
	req.Header.Set("User-Agent", "safeguard-feed")
	resp, err := client.Do(req)
	if err != nil {
		return at(u, errorf(ErrDownload, "%w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return at(u, errorf(ErrDownload, "HTTP %s", resp.Status))
	}
	max := l.opts.MaxArchiveBytes
	if resp.ContentLength > max {
		return at(u, errorf(ErrTooLarge, "Content-Length %d exceeds %d", resp.ContentLength, max))
	}
	tmp, err := os.CreateTemp("", "safeguard-feed-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, max+1))
	if err != nil {
		return at(u, errorf(ErrDownload, "body cut short after %d bytes: %w", n, err))
	}
	if n > max {
		return at(u, errorf(ErrTooLarge, "body exceeds %d bytes", max))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return at(u, errorf(ErrDownload, "body has %d bytes, Content-Length said %d", n, resp.ContentLength))
	}
	l.b.Sources = append(l.b.Sources, u)
	l.src = u
	return at(u, l.loadFile(tmp, n))
}
