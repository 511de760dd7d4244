package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/safeguard-dev/safeguard/store"
)

// Notifier posts events (moved tags) as JSON to hook URLs. Failures are
// retried a few times and then reported, never fatal to a crawl.
type Notifier struct {
	// Client sends the posts; default: its own client with a 10s timeout.
	Client *http.Client
	// Attempts per URL (default 3); 5xx, 429 and network errors are retried.
	Attempts int
	// Backoff before the second attempt, doubled after (default 500ms).
	Backoff time.Duration
	Logger  *slog.Logger
}

var defaultNotifyClient = &http.Client{Timeout: 10 * time.Second}

// Notify posts ev to every URL and returns the failures, joined.
func (n *Notifier) Notify(ctx context.Context, urls []string, ev store.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	client := n.Client
	if client == nil {
		client = defaultNotifyClient
	}
	attempts := n.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	backoff := n.Backoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var errs []error
	for _, u := range urls {
		err := n.post(ctx, client, u, body, attempts, backoff)
		if err != nil {
			if n.Logger != nil {
				n.Logger.Warn("notification failed", "url", redact(u), "kind", ev.Kind, "err", err)
			}
			errs = append(errs, fmt.Errorf("notify %s: %w", redact(u), err))
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) post(ctx context.Context, client *http.Client, u string, body []byte, attempts int, backoff time.Duration) error {
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := sleepCtx(ctx, backoff<<(i-1)); err != nil {
				return err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "safeguard")
		resp, err := client.Do(req)
		if err != nil {
			last = err
			if ctx.Err() != nil {
				return err
			}
			continue
		}
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("HTTP %s", resp.Status)
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return last // the hook refuses: trying again will not help
		}
	}
	return last
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	return p.Redacted()
}

// MaxNotificationBytes bounds a push notification body.
const MaxNotificationBytes = 1 << 20

// MediaTypeDistributionEvents is the CNCF distribution notification type.
const MediaTypeDistributionEvents = "application/vnd.docker.distribution.events.v1+json"

// distributionEnvelope is the CNCF distribution (docker registry)
// notification body.
type distributionEnvelope struct {
	Events []struct {
		Action string `json:"action"`
		Target struct {
			MediaType  string `json:"mediaType"`
			Repository string `json:"repository"`
			Digest     string `json:"digest"`
			Tag        string `json:"tag"`
			URL        string `json:"url"`
		} `json:"target"`
		Request struct {
			Host string `json:"host"`
		} `json:"request"`
	} `json:"events"`
}

// harborWebhook is Harbor's webhook body (JSON payload format).
type harborWebhook struct {
	Type      string `json:"type"`
	EventData struct {
		Repository struct {
			RepoFullName string `json:"repo_full_name"`
		} `json:"repository"`
		Resources []struct {
			Tag         string `json:"tag"`
			Digest      string `json:"digest"`
			ResourceURL string `json:"resource_url"`
		} `json:"resources"`
	} `json:"event_data"`
}

// ParseNotification reads a push notification — a CNCF distribution event
// envelope or a Harbor webhook — and returns the pushed repositories as
// host/path, sorted and without duplicates. Events other than pushes are
// ignored; a body that is neither format is an error.
func ParseNotification(body []byte) ([]string, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errors.New("notification: want a JSON object")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("notification: %w", err)
	}
	set := map[string]bool{}
	add := func(host, path string) error {
		host, path = strings.TrimSpace(host), strings.Trim(strings.TrimSpace(path), "/")
		if host == "" || path == "" {
			return fmt.Errorf("notification: push event without host or repository (host %q, repository %q)", host, path)
		}
		if _, err := name.NewRegistry(host, name.StrictValidation); err != nil || strings.ContainsAny(host, "/@") {
			return fmt.Errorf("notification: bad host %q", host)
		}
		if err := checkRepoPath(host, path); err != nil {
			return fmt.Errorf("notification: %w", err)
		}
		set[host+"/"+path] = true
		return nil
	}
	switch {
	case probe["events"] != nil:
		var env distributionEnvelope
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("notification: distribution envelope: %w", err)
		}
		for _, e := range env.Events {
			if e.Action != "push" {
				continue
			}
			host := e.Request.Host
			if host == "" && e.Target.URL != "" {
				if u, err := url.Parse(e.Target.URL); err == nil {
					host = u.Host
				}
			}
			if err := add(host, e.Target.Repository); err != nil {
				return nil, err
			}
		}
	case probe["type"] != nil && probe["event_data"] != nil:
		var h harborWebhook
		if err := json.Unmarshal(body, &h); err != nil {
			return nil, fmt.Errorf("notification: Harbor webhook: %w", err)
		}
		if h.Type != "PUSH_ARTIFACT" {
			return nil, nil
		}
		repo := h.EventData.Repository.RepoFullName
		for _, r := range h.EventData.Resources {
			// resource_url is host/path:tag or host/path@digest.
			host, _, _ := strings.Cut(r.ResourceURL, "/")
			if err := add(host, repo); err != nil {
				return nil, err
			}
		}
		if len(h.EventData.Resources) == 0 {
			return nil, errors.New("notification: Harbor push without resources (the host comes from resource_url)")
		}
	default:
		return nil, errors.New("notification: neither a distribution event envelope (events) nor a Harbor webhook (type, event_data)")
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out, nil
}

// NotificationHandler accepts registry push notifications (CNCF
// distribution envelopes, Harbor webhooks) and calls trigger once for each
// pushed repository, as host/path. trigger should only schedule a crawl:
// it runs on the request's goroutine. Bodies over MaxNotificationBytes get
// 413, unparseable ones 400.
func NotificationHandler(trigger func(repository string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST a registry notification", http.StatusMethodNotAllowed)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != MediaTypeDistributionEvents && mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				http.Error(w, "want "+MediaTypeDistributionEvents+" or application/json", http.StatusUnsupportedMediaType)
				return
			}
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxNotificationBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, fmt.Sprintf("notification larger than %d bytes", MaxNotificationBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading the notification: "+err.Error(), http.StatusBadRequest)
			return
		}
		repos, err := ParseNotification(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, repo := range repos {
			trigger(repo)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"repositories": repos})
	})
}
