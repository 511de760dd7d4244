//go:build !linux

package bench

func resetPeakRSS() {}
