package imageref

import "testing"

// BenchmarkCheck is the cost of one reference: parse, name checks against
// the shipped catalogue and the release-pattern tag check.
func BenchmarkCheck(b *testing.B) {
	cat := Default()
	refs := []string{"ubuntu:22.04", "ghcr.io/acme/tool:1.0@" + dg, "ubunto:20.04", "jwi1der/nginx-proxy", "someone/ubuntu", "alpine:3.154", "bitnami/redis:7.2"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		CheckString(refs[i%len(refs)], cat, nil)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("registry.example.com:5000/team/app:1.2@" + dg); err != nil {
			b.Fatal(err)
		}
	}
}
