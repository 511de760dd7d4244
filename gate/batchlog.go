package gate

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// BatchWriter stores many decisions in one transaction (store/sqlite's
// PutDecisions).
type BatchWriter interface {
	PutDecisions(ctx context.Context, ds []store.DecisionRecord) error
}

// BatchLog is a DecisionLog that writes from one goroutine, once per
// window, so a webhook answering thousands of reviews a second does not
// wait for a database transaction per decision. Within a window the
// decisions a gate reuses from one evaluation (the same reference, context
// and answer; see Options.FactsTTL) become one row that counts them, so
// the log grows with what was decided, not with how often it was asked.
// No decision is dropped: when maxPending rows wait, callers wait for the
// writer. Close writes what is pending.
type BatchLog struct {
	w      BatchWriter
	logger *slog.Logger
	window time.Duration
	sleep  func(time.Duration) // between write retries; time.Sleep

	mu      sync.Mutex
	room    *sync.Cond // signalled when pending is written out
	pending []pendingRow
	index   map[*memoEntry]int // a reused evaluation → its row in pending
	closed  bool
	waiting int // callers in add waiting for room

	full    chan struct{} // cap 1: pending reached maxPending
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
}

// pendingRow is a record, or a decision whose record (and JSON detail) is
// built by the writer, off the request path; rec then holds only what
// coalescing counts (source, repeats, last_at, the slowest latency).
type pendingRow struct {
	rec      store.DecisionRecord
	decision *Decision
	in       Input
}

// Batching limits: pending rows are written every logWindow, or at once
// when maxPending of them wait.
const (
	logWindow  = time.Second
	maxPending = 8192
)

// NewBatchLog starts the writer. logger receives write failures (nil: discard).
func NewBatchLog(w BatchWriter, logger *slog.Logger) *BatchLog {
	return newBatchLog(w, logger, logWindow, time.Sleep)
}

func newBatchLog(w BatchWriter, logger *slog.Logger, window time.Duration, sleep func(time.Duration)) *BatchLog {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &BatchLog{w: w, logger: logger, window: window, sleep: sleep, index: map[*memoEntry]int{},
		full: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
	b.room = sync.NewCond(&b.mu)
	go b.run()
	return b
}

// PutDecision queues a record as its own row; the id is not known yet and
// is returned as 0.
func (b *BatchLog) PutDecision(ctx context.Context, d store.DecisionRecord) (int64, error) {
	b.add(pendingRow{rec: d}, nil)
	return 0, ctx.Err()
}

// decide queues a gate decision. Decisions reused from one evaluation
// (same) within a window share a row.
func (b *BatchLog) decide(d Decision, in Input, source string, same *memoEntry) {
	b.add(pendingRow{decision: &d, in: in, rec: store.DecisionRecord{Source: source, Repeats: 1, LastAt: d.EvaluatedAt, LatencyMS: d.LatencyMS}}, same)
}

func (b *BatchLog) add(r pendingRow, same *memoEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if same != nil {
		if i, ok := b.index[same]; ok {
			p := &b.pending[i].rec
			p.Repeats++
			if r.rec.LastAt.After(p.LastAt) {
				p.LastAt = r.rec.LastAt
			}
			p.LatencyMS = max(p.LatencyMS, r.rec.LatencyMS)
			return
		}
	}
	for len(b.pending) >= maxPending && !b.closed {
		select {
		case b.full <- struct{}{}:
		default:
		}
		b.waiting++
		b.room.Wait()
		b.waiting--
		if b.closed {
			b.room.Broadcast() // Close waits for the last waiter to be in
		}
	}
	if same != nil {
		b.index[same] = len(b.pending)
	}
	b.pending = append(b.pending, r)
}

// Close writes every pending decision and stops the writer. PutDecision
// must not be called after Close.
func (b *BatchLog) Close() {
	b.once.Do(func() { close(b.closing) })
	<-b.done
}

func (b *BatchLog) run() {
	defer close(b.done)
	t := time.NewTicker(b.window)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.full:
		case <-b.closing:
			// Callers waiting for room were called before Close: they
			// come in (without waiting) before the last write.
			b.mu.Lock()
			b.closed = true
			b.room.Broadcast()
			for b.waiting > 0 {
				b.room.Wait()
			}
			b.mu.Unlock()
			b.flush()
			return
		}
		b.flush()
	}
}

func (b *BatchLog) flush() {
	b.mu.Lock()
	rows := b.pending
	b.pending = nil
	clear(b.index)
	b.room.Broadcast()
	b.mu.Unlock()
	if len(rows) == 0 {
		return
	}
	recs := make([]store.DecisionRecord, 0, len(rows))
	for _, r := range rows {
		if r.decision == nil {
			if !json.Valid(r.rec.Detail) {
				// Alone, not with its batch: the retries below are for a
				// store that is briefly unavailable, not for a bad row.
				b.logger.Error("decision log", "reference", r.rec.Reference, "err", "detail is not JSON")
				continue
			}
			recs = append(recs, r.rec)
			continue
		}
		rec, err := record(*r.decision, r.in, r.rec.Source)
		if err != nil {
			b.logger.Error("decision log", "reference", r.decision.Reference, "err", err)
			continue
		}
		rec.Repeats, rec.LastAt, rec.LatencyMS = r.rec.Repeats, r.rec.LastAt, r.rec.LatencyMS
		recs = append(recs, rec)
	}
	var err error
	retries := writeRetries()
	for i, wait := range retries {
		if err = b.w.PutDecisions(context.Background(), recs); err == nil {
			return
		}
		if i < len(retries)-1 {
			b.logger.Warn("decision log: write failed, retrying", "decisions", len(recs), "in", wait.String(), "err", err)
			b.sleep(wait)
		}
	}
	b.logger.Error("decision log: decisions lost", "decisions", len(recs), "err", err)
}

// writeRetries are the waits after a failed batch write (a busy or briefly
// locked database): about 3.5 s in all, while callers wait for room; the
// last entry ends the tries.
func writeRetries() [5]time.Duration {
	return [...]time.Duration{100 * time.Millisecond, 400 * time.Millisecond, time.Second, 2 * time.Second, 0}
}

// record is the decision-log row of one decision.
func record(d Decision, in Input, source string) (store.DecisionRecord, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return store.DecisionRecord{}, err
	}
	return store.DecisionRecord{At: d.EvaluatedAt, Reference: d.Reference, Digest: d.Digest, Verdict: d.Verdict,
		Incomplete: d.Incomplete, PolicyHash: d.PolicyHash, Environment: in.Environment, Namespace: in.Namespace, Cluster: in.Cluster,
		Source: source, LatencyMS: d.LatencyMS, Repeats: 1, Detail: raw}, nil
}
