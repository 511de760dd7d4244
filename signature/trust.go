package signature

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// maxTrustedRootSize bounds the trusted root read from disk; the public-good
// one is under 10 KiB.
const maxTrustedRootSize = 4 << 20

// TUFCachedTrustedRootPath is where the trusted root of a TUF source is cached:
// sigstore-go's TUF client layout, <cache_dir>/<mirror as a path>/targets/
// trusted_root.json. Using the client's own layout means a cache filled by
// RefreshTrustedRoot (or any sigstore-go client with the same cache dir) is
// read as is, and an air-gapped site can seed it by copying one file there.
func TUFCachedTrustedRootPath(src TUFSource) string {
	mirror := src.MirrorURL
	if mirror == "" {
		mirror = DefaultTUFMirror
	}
	return filepath.Join(src.CacheDir, tuf.URLToPath(mirror), "targets", "trusted_root.json")
}

// readTrustedRoot loads the trusted root bytes without touching the network.
func readTrustedRoot(src TrustedRootSource) ([]byte, error) {
	path := src.File
	if src.TUF != nil {
		path = TUFCachedTrustedRootPath(*src.TUF)
	}
	f, err := os.Open(path)
	if err != nil {
		if src.TUF != nil && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("trusted_root.tuf: no cached trusted root at %s: refresh it online once (RefreshTrustedRoot) or copy a trusted_root.json there", path)
		}
		return nil, fmt.Errorf("trusted_root: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTrustedRootSize+1))
	if err != nil {
		return nil, fmt.Errorf("trusted_root: %s: %w", path, err)
	}
	if len(data) > maxTrustedRootSize {
		return nil, fmt.Errorf("trusted_root: %s is larger than %d bytes", path, maxTrustedRootSize)
	}
	return data, nil
}

// RefreshTrustedRoot updates the TUF cache of src from its mirror (network)
// and returns the refreshed trusted root. It is the only function of this
// package that makes network calls; call it from a scheduler or an explicit
// command, then reload the policy. tufRoot is the TUF root.json to start
// from when the cache is empty (nil: sigstore-go's embedded public-good
// root, correct only for the default mirror).
func RefreshTrustedRoot(ctx context.Context, src TUFSource, tufRoot []byte) (*root.TrustedRoot, error) {
	opts := tuf.DefaultOptions().WithContext(ctx).WithCachePath(src.CacheDir)
	if src.MirrorURL != "" {
		opts = opts.WithRepositoryBaseURL(src.MirrorURL)
	}
	if tufRoot != nil {
		opts = opts.WithRoot(tufRoot)
	} else if src.MirrorURL != "" && src.MirrorURL != DefaultTUFMirror {
		return nil, fmt.Errorf("refresh trusted root: mirror %s needs its own TUF root.json", src.MirrorURL)
	}
	client, err := tuf.New(opts)
	if err != nil {
		return nil, fmt.Errorf("refresh trusted root: %w", err)
	}
	tr, err := root.GetTrustedRoot(client)
	if err != nil {
		return nil, fmt.Errorf("refresh trusted root: %w", err)
	}
	return tr, nil
}
