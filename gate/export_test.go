package gate

import (
	"log/slog"
	"time"
)

// NewBatchLogForTest is a BatchLog whose waits between write retries go
// to sleep (a test records them instead of waiting).
func NewBatchLogForTest(w BatchWriter, logger *slog.Logger, sleep func(time.Duration)) *BatchLog {
	return newBatchLog(w, logger, logWindow, sleep)
}
