package sbom

import (
	"os"
	"testing"
)

// BenchmarkDecodeUBI9SPDX decodes Red Hat's SPDX 2.3 SBOM of UBI 9.6
// (3 MB, 1,527 packages over four architectures). cpu-ns/op is the process
// CPU time per decode, garbage collection included; on a busy machine it is
// a better figure than ns/op.
func BenchmarkDecodeUBI9SPDX(b *testing.B) {
	data, err := os.ReadFile("testdata/corpus/claircore/ubi9-9.6-redhat-konflux-syft.spdx.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start, n := processCPU(), 0
	for b.Loop() {
		n++
		doc, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		if len(doc.Packages) == 0 {
			b.Fatal("no packages")
		}
	}
	if cpu := processCPU() - start; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}
