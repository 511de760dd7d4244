package registry

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

const distributionBody = `{"events":[
 {"id":"1","timestamp":"2025-03-01T12:00:00Z","action":"push",
  "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","repository":"team/api","tag":"v1","url":"http://registry.example.com:5000/v2/team/api/manifests/sha256:aaaa"},
  "request":{"id":"r","addr":"10.0.0.1:1234","host":"registry.example.com:5000","method":"PUT"}},
 {"action":"pull","target":{"repository":"team/other"},"request":{"host":"registry.example.com:5000"}},
 {"action":"push","target":{"repository":"team/api","digest":"sha256:bbbb"},"request":{"host":"registry.example.com:5000"}}
]}`

const harborBody = `{"type":"PUSH_ARTIFACT","occur_at":1740830400,"operator":"ci",
 "event_data":{"resources":[{"digest":"sha256:cccc","tag":"1.2","resource_url":"harbor.example.com/library/nginx:1.2"}],
  "repository":{"date_created":1740830000,"name":"nginx","namespace":"library","repo_full_name":"library/nginx","repo_type":"private"}}}`

func TestParseNotification(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
		bad        bool
	}{
		{"distribution", distributionBody, []string{"registry.example.com:5000/team/api"}, false},
		{"harbor", harborBody, []string{"harbor.example.com/library/nginx"}, false},
		{"harbor delete", `{"type":"DELETE_ARTIFACT","event_data":{"repository":{"repo_full_name":"library/nginx"},"resources":[]}}`, nil, false},
		{"only pulls", `{"events":[{"action":"pull","target":{"repository":"a"},"request":{"host":"h"}}]}`, nil, false},
		{"host from target url", `{"events":[{"action":"push","target":{"repository":"a/b","url":"https://r.example.com/v2/a/b/manifests/x"}}]}`, []string{"r.example.com/a/b"}, false},
		{"no host", `{"events":[{"action":"push","target":{"repository":"a"}}]}`, nil, true},
		{"bad repository", `{"events":[{"action":"push","target":{"repository":"../../etc"},"request":{"host":"h"}}]}`, nil, true},
		{"bad host", `{"events":[{"action":"push","target":{"repository":"a"},"request":{"host":"h/x"}}]}`, nil, true},
		{"garbage", `not json`, nil, true},
		{"array", `[]`, nil, true},
		{"other object", `{"hello":"world"}`, nil, true},
		{"events wrong type", `{"events":"push"}`, nil, true},
		{"harbor without resources", `{"type":"PUSH_ARTIFACT","event_data":{"repository":{"repo_full_name":"a/b"}}}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNotification([]byte(tc.body))
			if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v (error: %v)", got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestNotificationHandler(t *testing.T) {
	var got []string
	h := NotificationHandler(func(repo string) { got = append(got, repo) })
	post := func(ct, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/hooks/registry", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := post(MediaTypeDistributionEvents, distributionBody); w.Code != http.StatusAccepted || !slices.Equal(got, []string{"registry.example.com:5000/team/api"}) {
		t.Errorf("distribution: %d %s %v", w.Code, w.Body, got)
	}
	got = nil
	if w := post("application/json", harborBody); w.Code != http.StatusAccepted || !slices.Equal(got, []string{"harbor.example.com/library/nginx"}) {
		t.Errorf("harbor: %d %s %v", w.Code, w.Body, got)
	}
	got = nil
	if w := post("application/json", "{{{"); w.Code != http.StatusBadRequest || got != nil {
		t.Errorf("garbage: %d", w.Code)
	}
	if w := post("text/plain", distributionBody); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", w.Code)
	}
	big := `{"events":[` + strings.Repeat(`{"action":"pull"},`, MaxNotificationBytes/16) + `{}]}`
	if w := post("application/json", big); w.Code != http.StatusRequestEntityTooLarge || got != nil {
		t.Errorf("oversized: %d", w.Code)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(distributionBody))
	f.Add([]byte(harborBody))
	f.Add([]byte(`{"events":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		repos, err := ParseNotification(body)
		if err != nil {
			return
		}
		for _, r := range repos {
			host, path, ok := strings.Cut(r, "/")
			if !ok || host == "" || checkRepoPath(host, path) != nil {
				t.Fatalf("accepted a bad repository %q from %q", r, body)
			}
		}
	})
}

func TestFuzzSeedsPresent(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParseNotification", "*"))
	if len(files) < 3 {
		t.Errorf("want the seed corpus under testdata/fuzz/FuzzParseNotification, found %d files", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if !bytes.HasPrefix(b, []byte("go test fuzz v1\n")) {
			t.Errorf("%s is not a go fuzz corpus file", f)
		}
	}
}

func TestNotifierRetriesAndGivesUp(t *testing.T) {
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer flaky.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer refusing.Close()
	n := &Notifier{Backoff: time.Millisecond}
	ev := store.Event{Kind: store.EventTagMoved, Repository: "h/r", Tag: "v1", Digest: "sha256:b", OldDigest: "sha256:a", At: time.Now()}
	if err := n.Notify(context.Background(), []string{flaky.URL}, ev); err != nil || calls.Load() != 2 {
		t.Errorf("flaky hook: %v after %d calls", err, calls.Load())
	}
	err := n.Notify(context.Background(), []string{refusing.URL, flaky.URL}, ev)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("refusing hook: %v", err)
	}
}
