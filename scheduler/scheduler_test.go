package scheduler

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunsAtStartOnTriggerAndSurvivesErrors(t *testing.T) {
	var ticks, triggered atomic.Int32
	got := make(chan string, 10)
	s := New(nil, nil,
		Job{Name: "periodic", Interval: time.Hour, Run: func(ctx context.Context, arg string) error {
			ticks.Add(1)
			return errors.New("boom") // a failing run is logged, not fatal
		}},
		Job{Name: "crawl", Run: func(ctx context.Context, arg string) error {
			triggered.Add(1)
			got <- arg
			return nil
		}},
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	if !s.Trigger("crawl", "registry.example/acme/app") {
		t.Fatal("trigger refused")
	}
	select {
	case arg := <-got:
		if arg != "registry.example/acme/app" {
			t.Fatalf("arg %q", arg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("triggered job did not run")
	}
	deadline := time.Now().Add(10 * time.Second)
	for ticks.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if ticks.Load() != 1 {
		t.Fatalf("periodic job ran %d times, want once at start", ticks.Load())
	}
	st := s.Statuses()
	if st[0].LastErr != "boom" || st[0].Runs != 1 || st[1].Runs != 1 {
		t.Fatalf("statuses %+v", st)
	}
	if s.Trigger("nope", "") {
		t.Fatal("unknown job accepted")
	}
}
