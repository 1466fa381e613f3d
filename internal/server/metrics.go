package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accordhq/accord/internal/postgres"
)

// httpMetrics counts requests by route and status and times them.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry, store *postgres.Store) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "accord_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency, newPoolCollector(store))
	return m
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// poolCollector reports the database pool's statistics at scrape time.
type poolCollector struct {
	store                                            *postgres.Store
	total, idle, acquired, maxConns                  *prometheus.Desc
	acquireCount, acquireWait, emptyAcquire, newConn *prometheus.Desc
}

func newPoolCollector(store *postgres.Store) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("accord_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		store:        store,
		total:        d("connections", "Open connections in the pool."),
		idle:         d("idle_connections", "Idle connections in the pool."),
		acquired:     d("acquired_connections", "Connections in use."),
		maxConns:     d("max_connections", "Largest size the pool may grow to."),
		acquireCount: d("acquires_total", "Connections acquired from the pool."),
		acquireWait:  d("acquire_wait_seconds_total", "Time spent waiting for a connection."),
		emptyAcquire: d("empty_acquires_total", "Acquires that had to wait because the pool was empty."),
		newConn:      d("new_connections_total", "Connections opened."),
	}
}

// Describe sends the metric descriptions.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.idle, c.acquired, c.maxConns, c.acquireCount, c.acquireWait, c.emptyAcquire, c.newConn} {
		ch <- d
	}
}

// Collect reads the pool's statistics now.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.Pool().Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.total, float64(st.TotalConns()))
	gauge(c.idle, float64(st.IdleConns()))
	gauge(c.acquired, float64(st.AcquiredConns()))
	gauge(c.maxConns, float64(st.MaxConns()))
	counter(c.acquireCount, float64(st.AcquireCount()))
	counter(c.acquireWait, st.AcquireDuration().Seconds())
	counter(c.emptyAcquire, float64(st.EmptyAcquireCount()))
	counter(c.newConn, float64(st.NewConnsCount()))
}
