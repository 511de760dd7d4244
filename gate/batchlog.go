package gate

import (
	"context"
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

// BatchLog is a DecisionLog that writes in batches from one goroutine, so a
// webhook answering thousands of reviews a second does not wait for a
// database transaction per decision. No decision is dropped: when the queue
// is full, PutDecision waits for the writer. Close writes what is queued.
type BatchLog struct {
	w      BatchWriter
	logger *slog.Logger
	queue  chan store.DecisionRecord
	done   chan struct{}
	once   sync.Once
}

// Batching limits: a batch is written when it holds maxBatch decisions or
// batchDelay after its first one.
const (
	maxBatch   = 512
	batchDelay = 50 * time.Millisecond
	queueSize  = 8192
)

// NewBatchLog starts the writer. logger receives write failures (nil: discard).
func NewBatchLog(w BatchWriter, logger *slog.Logger) *BatchLog {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &BatchLog{w: w, logger: logger, queue: make(chan store.DecisionRecord, queueSize), done: make(chan struct{})}
	go b.run()
	return b
}

// PutDecision queues d; the id is not known yet and is returned as 0.
func (b *BatchLog) PutDecision(ctx context.Context, d store.DecisionRecord) (int64, error) {
	select {
	case b.queue <- d:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close writes every queued decision and stops the writer. PutDecision must
// not be called after Close.
func (b *BatchLog) Close() {
	b.once.Do(func() { close(b.queue) })
	<-b.done
}

func (b *BatchLog) run() {
	defer close(b.done)
	batch := make([]store.DecisionRecord, 0, maxBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := b.w.PutDecisions(context.Background(), batch); err != nil {
			b.logger.Error("decision log", "decisions", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case d, ok := <-b.queue:
			if !ok {
				flush()
				return
			}
			if len(batch) == 0 {
				timer.Reset(batchDelay)
			}
			batch = append(batch, d)
			if len(batch) >= maxBatch {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}
