package storetest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// BaseImages is the base-chain surface of a backend.
type BaseImages interface {
	PutBaseChain(ctx context.Context, digest string, links []store.BaseLink) error
	PutBaseChains(ctx context.Context, chains map[string][]store.BaseLink) error
	BaseChain(ctx context.Context, digest string) ([]store.BaseLink, error)
	BaseChains(ctx context.Context) (map[string][]store.BaseLink, error)
	ImagesWithBase(ctx context.Context, baseRepository, baseTag string) ([]string, error)
}

// RunBaseImages runs the base-chain part of the suite.
func RunBaseImages(t *testing.T, open func(t *testing.T) BaseImages) {
	t.Run("ChainRoundTripAndReplace", func(t *testing.T) { testBaseChain(t, open(t)) })
	t.Run("ImagesByBaseTagAtBuildTime", func(t *testing.T) { testImagesWithBase(t, open(t)) })
}

const (
	nodeRepo   = "docker.io/library/node"
	debianRepo = "docker.io/library/debian"
)

func chain(nodeDigest, nodeTag string, nodeTags []string) []store.BaseLink {
	at := t0.Add(time.Hour)
	return []store.BaseLink{
		{BaseRepository: nodeRepo, BaseDigest: nodeDigest, BaseIndexDigest: nodeDigest + "-index", BaseTag: nodeTag, BaseTags: nodeTags,
			Method: "layers", Confidence: "high", SharedLayers: 3, Alternatives: []string{"mirror.example/node@" + nodeDigest}, Note: "copy listed", ComputedAt: at},
		{Position: 1, BaseRepository: debianRepo, BaseDigest: "sha256:deb", BaseTag: "bookworm", BaseTags: []string{"bookworm", "latest"},
			Method: "layers", Confidence: "high", SharedLayers: 1, ComputedAt: at},
	}
}

func testBaseChain(t *testing.T, s BaseImages) {
	ctx := context.Background()
	want := chain("sha256:node-march", "20", []string{"20", "latest"})
	if err := s.PutBaseChain(ctx, "sha256:app", want); err != nil {
		t.Fatal(err)
	}
	got := must(s.BaseChain(ctx, "sha256:app"))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chain round trip:\n got %+v\nwant %+v", got, want)
	}
	// "No base" is stored as an answer, and is not "not attributed".
	none := []store.BaseLink{{Method: "none", Confidence: "unknown", Note: "squashed", ComputedAt: t0}}
	if err := s.PutBaseChain(ctx, "sha256:squashed", none); err != nil {
		t.Fatal(err)
	}
	if got := must(s.BaseChain(ctx, "sha256:squashed")); len(got) != 1 || got[0].Method != "none" || got[0].Identical {
		t.Errorf("no-base chain = %+v", got)
	}
	if got := must(s.BaseChain(ctx, "sha256:never")); got != nil {
		t.Errorf("unattributed image has a chain: %+v", got)
	}
	// Replacing a chain drops the old links (a shorter chain leaves no tail).
	short := chain("sha256:node-july", "20", []string{"20"})[:1]
	if err := s.PutBaseChain(ctx, "sha256:app", short); err != nil {
		t.Fatal(err)
	}
	got = must(s.BaseChain(ctx, "sha256:app"))
	if len(got) != 1 || got[0].BaseDigest != "sha256:node-july" {
		t.Errorf("replaced chain = %+v", got)
	}
	all := must(s.BaseChains(ctx))
	if len(all) != 2 || len(all["sha256:app"]) != 1 || len(all["sha256:squashed"]) != 1 {
		t.Errorf("all chains = %+v", all)
	}
}

func testImagesWithBase(t *testing.T, s BaseImages) {
	ctx := context.Background()
	// old was built when node:latest and node:20 were the March build;
	// cur on the July build, when only 20 pointed at it so far.
	err := s.PutBaseChains(ctx, map[string][]store.BaseLink{
		"sha256:old": chain("sha256:node-march", "20", []string{"20", "latest"}),
		"sha256:cur": chain("sha256:node-july", "20", []string{"20"}),
		"sha256:alp": {{BaseRepository: "docker.io/library/alpine", BaseDigest: "sha256:a", BaseTag: "3.19", Method: "layers", Confidence: "high", SharedLayers: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		repo, tag string
		want      []string
	}{
		{nodeRepo, "latest", []string{"sha256:old"}}, // a tag it carried then, not the one shown
		{nodeRepo, "20", []string{"sha256:cur", "sha256:old"}},
		{nodeRepo, "", []string{"sha256:cur", "sha256:old"}},
		{debianRepo, "bookworm", []string{"sha256:cur", "sha256:old"}}, // at any depth
		{nodeRepo, "2", nil}, // no prefix match on tags
		{"docker.io/library/nod", "", nil},
		{"docker.io/library/alpine", "3.19", []string{"sha256:alp"}},
	} {
		got := must(s.ImagesWithBase(ctx, tc.repo, tc.tag))
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ImagesWithBase(%s, %q) = %v, want %v", tc.repo, tc.tag, got, tc.want)
		}
	}
}
