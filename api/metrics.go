package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's own Prometheus collectors, in their own
// registry: nothing touches the global default registry, so two servers in
// one process (or one test binary) never collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	storeUp     prometheus.Gauge
	sboms       prometheus.Gauge
	packages    prometheus.Gauge
	advisories  prometheus.Gauge
	openMatches prometheus.Gauge
	kev         prometheus.Gauge
	handler     http.Handler
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "safeguard", Name: name, Help: help})
	}
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "safeguard", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by method, route pattern and status code."}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "safeguard", Subsystem: "http", Name: "request_duration_seconds",
			Help: "HTTP request latency by method, route pattern and status code.", Buckets: prometheus.DefBuckets}, []string{"method", "route", "code"}),
		storeUp:     gauge("store_up", "1 when the store answered the last scrape's count query, else 0 (the count gauges then keep their previous values)."),
		sboms:       gauge("sboms", "Stored SBOMs."),
		packages:    gauge("packages", "Distinct stored package versions."),
		advisories:  gauge("advisories", "Stored advisories that are not withdrawn."),
		openMatches: gauge("open_matches", "Open (package, advisory) matches."),
		kev:         gauge("kev_entries", "Entries in the CISA known-exploited vulnerabilities catalog."),
	}
	reg.MustRegister(m.requests, m.latency, m.storeUp, m.sboms, m.packages, m.advisories, m.openMatches, m.kev,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// serveMetrics refreshes the store gauges from Counts, then serves the
// registry in the Prometheus exposition format. A store error is logged
// and shows as safeguard_store_up 0; the request metrics are still served.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	m := s.metrics
	c, err := s.store.Counts(r.Context())
	if err != nil {
		s.log.WarnContext(r.Context(), "metrics: store counts", "err", err)
		m.storeUp.Set(0)
	} else {
		m.storeUp.Set(1)
		m.sboms.Set(float64(c.SBOMs))
		m.packages.Set(float64(c.Packages))
		m.advisories.Set(float64(c.Advisories))
		m.openMatches.Set(float64(c.OpenMatches))
		m.kev.Set(float64(c.KEV))
	}
	m.handler.ServeHTTP(w, r)
	return nil
}
