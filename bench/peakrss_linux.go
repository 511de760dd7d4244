//go:build linux

package bench

import "os"

// resetPeakRSS resets the process's RSS high-water mark (what getrusage's
// ru_maxrss reports) to the current RSS, so PeakRSS afterwards is the peak
// of what follows. Best effort: without /proc it does nothing.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
