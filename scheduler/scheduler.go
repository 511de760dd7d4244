// Package scheduler runs Safeguard's periodic work — registry crawls, feed
// syncs, full re-matches — each job on its own interval, once at start, and
// on demand (a registry push notification triggers a crawl at once). Jobs
// of one name never overlap; a failing run is logged and retried at the
// next tick, never fatal.
package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is one kind of periodic work.
type Job struct {
	Name     string
	Interval time.Duration // zero: only on demand
	// Run does the work; arg is what Trigger passed ("" on a tick).
	Run func(ctx context.Context, arg string) error
}

// Status is what the scheduler knows about a job's last run.
type Status struct {
	Name     string        `json:"name"`
	LastRun  time.Time     `json:"last_run"`
	LastErr  string        `json:"last_error,omitempty"`
	Duration time.Duration `json:"duration"`
	Runs     int           `json:"runs"`
}

// Scheduler runs jobs. The zero value is not usable; use New.
type Scheduler struct {
	logger *slog.Logger
	now    func() time.Time
	jobs   map[string]*runner
	order  []string
}

type runner struct {
	job     Job
	trigger chan string
	mu      sync.Mutex
	status  Status
}

// New returns a scheduler for jobs. A nil logger discards logs.
func New(logger *slog.Logger, now func() time.Time, jobs ...Job) *Scheduler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	s := &Scheduler{logger: logger, now: now, jobs: map[string]*runner{}}
	for _, j := range jobs {
		s.jobs[j.Name] = &runner{job: j, trigger: make(chan string, 64), status: Status{Name: j.Name}}
		s.order = append(s.order, j.Name)
	}
	return s
}

// Trigger asks for a run of job name with arg now; it never blocks (a full
// queue drops the request, since a run is already pending).
func (s *Scheduler) Trigger(name, arg string) bool {
	r, ok := s.jobs[name]
	if !ok {
		return false
	}
	select {
	case r.trigger <- arg:
		return true
	default:
		return false
	}
}

// Statuses returns the last-run status of every job.
func (s *Scheduler) Statuses() []Status {
	out := make([]Status, 0, len(s.order))
	for _, n := range s.order {
		r := s.jobs[n]
		r.mu.Lock()
		out = append(out, r.status)
		r.mu.Unlock()
	}
	return out
}

// Run starts every job (once now, then on its interval and on triggers)
// and blocks until ctx is done and the running jobs have returned.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, n := range s.order {
		r := s.jobs[n]
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, r)
		}()
	}
	wg.Wait()
}

// RunOnce runs one job synchronously, as a tick would.
func (s *Scheduler) RunOnce(ctx context.Context, name, arg string) error {
	r, ok := s.jobs[name]
	if !ok {
		return nil
	}
	return s.run(ctx, r, arg)
}

func (s *Scheduler) loop(ctx context.Context, r *runner) {
	var tick <-chan time.Time
	if r.job.Interval > 0 {
		t := time.NewTicker(r.job.Interval)
		defer t.Stop()
		tick = t.C
		_ = s.run(ctx, r, "")
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			_ = s.run(ctx, r, "")
		case arg := <-r.trigger:
			_ = s.run(ctx, r, arg)
		}
	}
}

func (s *Scheduler) run(ctx context.Context, r *runner, arg string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	start := s.now()
	err := r.job.Run(ctx, arg)
	d := s.now().Sub(start)
	r.mu.Lock()
	r.status.LastRun, r.status.Duration = start, d
	r.status.Runs++
	r.status.LastErr = ""
	if err != nil {
		r.status.LastErr = err.Error()
	}
	r.mu.Unlock()
	if err != nil {
		s.logger.Error("job failed", "job", r.job.Name, "arg", arg, "err", err, "duration", d)
	} else {
		s.logger.Info("job done", "job", r.job.Name, "arg", arg, "duration", d)
	}
	return err
}
