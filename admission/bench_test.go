package admission

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
)

// tenContainerPod is a Pod of 10 containers with 10 distinct tagged
// images whose digests the gate knows.
func tenContainerPod(b *testing.B) ([]byte, *tableGate) {
	g := &tableGate{table: map[string]answer{}}
	var images []string
	for i := range 10 {
		ref := fmt.Sprintf("registry.example.com/team/service-%d:1.%d.0", i, i)
		images = append(images, ref)
		g.table[ref] = allowed(fmt.Sprintf("sha256:%064x", i+1), gate.Violation{Rule: "age", Mode: gate.ModeAudit, Message: "audited"})
	}
	return podReview(b, "CREATE", "shop", images, nil), g
}

// benchReview reports p50 and p99 per review besides ns/op. With the
// table evaluator it measures the webhook's own work: decoding,
// extraction, dedup, answers, patch, encoding — not the gate's lookup.
func benchReview(b *testing.B, mutate bool) {
	body, g := tenContainerPod(b)
	w := newWebhook(b, g, Config{})
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		out, err := w.Review(ctx, body, mutate)
		lat = append(lat, time.Since(start))
		if err != nil || !out.Response.Allowed {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func BenchmarkReviewPod10Validate(b *testing.B) { benchReview(b, false) }
func BenchmarkReviewPod10Mutate(b *testing.B)   { benchReview(b, true) }
