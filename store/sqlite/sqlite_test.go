package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestVEXConformance(t *testing.T) {
	storetest.RunVEX(t, func(t *testing.T) storetest.VEX {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path) // migrations must not re-run
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Counts(ctx); err != nil {
		t.Fatal(err)
	}
}

// Several processes opening a new store and ingesting the same SBOM at once
// (separate *Store values, separate connections) must all succeed.
func TestConcurrentOpenAndIngest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.db")
	ctx := context.Background()
	doc := &sbom.Document{Format: sbom.FormatSyftJSON, Packages: []sbom.Package{{PURL: "pkg:npm/a@1.0.0", Type: "npm", Ecosystem: "npm", Name: "a", Version: "1.0.0"}}}
	const n = 6
	errs := make(chan error, n)
	ids := make(chan int64, n)
	for i := 0; i < n; i++ {
		go func() {
			s, err := Open(ctx, path)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			r, err := s.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: []byte("same"), Source: "x.json"})
			if err != nil {
				errs <- err
				return
			}
			ids <- r.SBOM.ID
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(ids)
	first := int64(0)
	for id := range ids {
		if first == 0 {
			first = id
		} else if id != first {
			t.Errorf("same document stored twice: ids %d and %d", first, id)
		}
	}
}

var _ registry.Inventory = (*Store)(nil)

func TestInventoryConformance(t *testing.T) {
	storetest.RunInventory(t, func(t *testing.T) storetest.Inventory {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestBaseImagesConformance(t *testing.T) {
	storetest.RunBaseImages(t, func(t *testing.T) storetest.BaseImages {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestRetainSeenBeforeConformance(t *testing.T) {
	storetest.RunRetainSeenBefore(t, func(t *testing.T) storetest.RetainSeenBefore {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestDeploymentsConformance(t *testing.T) {
	storetest.RunDeployments(t, func(t *testing.T) storetest.Deployments {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
