package gate_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// heldWriter is the real store whose first batch write can be held, so
// decisions pile up behind it.
type heldWriter struct {
	*sqlite.Store
	once    sync.Once
	hold    chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	written int
}

func (w *heldWriter) PutDecisions(ctx context.Context, ds []store.DecisionRecord) error {
	w.once.Do(func() { close(w.entered); <-w.hold })
	err := w.Store.PutDecisions(ctx, ds)
	if err == nil {
		w.mu.Lock()
		w.written += len(ds)
		w.mu.Unlock()
	}
	return err
}

// Close writes every decision logged before it, including those of
// callers held back by a full queue when Close was called: the final
// write happens after they are in, not while they wait.
func TestBatchLogCloseKeepsDecisionsWaitingForRoom(t *testing.T) {
	const full = 8192 // gate.maxPending
	rec := store.DecisionRecord{At: now, Reference: "registry.example/app:1", Verdict: gate.Allow, PolicyHash: "h", Source: "admission", Detail: []byte(`{}`)}
	ctx := context.Background()
	// Whether the writer sees Close before or after the waiters' signal is
	// up to select; a handful of rounds meets both orders.
	for round := range 8 {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"))
		if err != nil {
			t.Fatal(err)
		}
		w := &heldWriter{Store: st, hold: make(chan struct{}), entered: make(chan struct{})}
		b := gate.NewBatchLog(w, nil)
		var wg sync.WaitGroup
		put := func() {
			defer wg.Done()
			if _, err := b.PutDecision(ctx, rec); err != nil {
				t.Error(err)
			}
		}
		sent := 0
		for range full + 1 { // the last one finds the queue full and starts a write, which is held
			wg.Add(1)
			sent++
			if sent <= full {
				put()
			} else {
				go put()
			}
		}
		<-w.entered
		wg.Wait()
		for range full - 1 { // the queue is full again
			wg.Add(1)
			sent++
			put()
		}
		const waiting = 20
		for range waiting { // these wait for room
			wg.Add(1)
			sent++
			go put()
		}
		time.Sleep(50 * time.Millisecond) // let them reach the wait (ordering, not an assertion)
		closed := make(chan struct{})
		go func() { b.Close(); close(closed) }()
		time.Sleep(50 * time.Millisecond)
		close(w.hold)
		<-closed
		wg.Wait()
		w.mu.Lock()
		got := w.written
		w.mu.Unlock()
		st.Close()
		if got != sent {
			t.Fatalf("round %d: %d decisions logged, %d written", round, sent, got)
		}
	}
}
