package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// serve --policy answers POST /api/v1/gate with what `gate --format json`
// prints, and logs the decision.
func TestServeGate(t *testing.T) {
	gw := newGateWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, gw.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }, getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() {
		done <- e.serve(ctx, st, &registry.Config{}, serveOptions{policy: gw.policy, noKEV: true, noEPSS: true, feedInterval: time.Hour}, ln, nil)
	}()
	waitFor(t, "ready", func() bool { return getJSON(t, base+"/readyz", nil) == 200 })
	body, _ := json.Marshal(gate.Request{Images: []string{gw.w.Refs["vulnerable"]}, Input: gate.Input{Environment: "production"}})
	resp, err := http.Post(base+"/api/v1/gate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rep gate.Report
	if err := json.Unmarshal(raw, &rep); err != nil || resp.StatusCode != 200 || rep.Verdict != gate.Deny || rep.Decisions[0].Violations[0].Rule != "kev-critical" {
		t.Fatalf("%d %s %v", resp.StatusCode, raw, err)
	}
	// The CLI's JSON for the same image says the same.
	_, cliOut, _ := gw.gate(t, nil, "--env", "production", "--format", "json", gw.w.Refs["vulnerable"])
	var cli gate.Report
	json.Unmarshal([]byte(cliOut), &cli)
	if cli.Verdict != rep.Verdict || cli.PolicyHash != rep.PolicyHash || cli.Decisions[0].Digest != rep.Decisions[0].Digest ||
		cli.Decisions[0].Violations[0].Message != rep.Decisions[0].Violations[0].Message {
		t.Errorf("CLI and API disagree:\n%s\n%s", cliOut, raw)
	}
	var list struct {
		Decisions []struct {
			Source string `json:"source"`
		} `json:"decisions"`
	}
	getJSON(t, base+"/api/v1/decisions?verdict=deny", &list)
	if len(list.Decisions) == 0 || !strings.Contains(list.Decisions[len(list.Decisions)-1].Source, "api") {
		t.Errorf("decision log: %+v", list)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// serve prunes decision-log rows older than --decision-retention (at start,
// then hourly); a row whose last decision is recent stays.
func TestServePrunesOldDecisions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir()+"/d.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old, recent := fixedNow.Add(-100*24*time.Hour), fixedNow.Add(-24*time.Hour)
	if err := st.PutDecisions(ctx, []store.DecisionRecord{
		{At: old, Reference: "old", Verdict: gate.Allow, Detail: []byte(`{}`)},
		{At: old, LastAt: recent, Repeats: 3, Reference: "still-asked", Verdict: gate.Allow, Detail: []byte(`{}`)},
		{At: recent, Reference: "recent", Verdict: gate.Deny, Detail: []byte(`{}`)},
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }, getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() {
		done <- e.serve(ctx, st, &registry.Config{}, serveOptions{noKEV: true, noEPSS: true, feedInterval: time.Hour, decisionRetention: 90 * 24 * time.Hour}, ln, nil)
	}()
	refs := func() []string {
		var out []string
		ds, _ := st.Decisions(ctx, store.DecisionFilter{})
		for _, d := range ds {
			out = append(out, d.Reference)
		}
		return out
	}
	waitFor(t, "pruned", func() bool { return len(refs()) == 2 })
	if got := strings.Join(refs(), " "); got != "recent still-asked" {
		t.Errorf("left %q, want the recent and the still-asked rows", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
