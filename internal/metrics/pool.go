package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector reads a pgx pool's statistics at scrape time, so pool
// saturation (acquires that had to wait) shows before statement timeouts do.
type poolCollector struct {
	pool *pgxpool.Pool

	conns, maxConns, acquires, emptyAcquires, waitSeconds *prometheus.Desc
}

// WatchPool exports the statistics of pool under the label pool=name
// ("primary", "replica").
func (m *Metrics) WatchPool(name string, pool *pgxpool.Pool) {
	if m == nil || pool == nil {
		return
	}
	constLabels := prometheus.Labels{"pool": name}
	m.Register(&poolCollector{
		pool: pool,
		conns: prometheus.NewDesc("stxgate_db_pool_connections",
			"PostgreSQL pool connections by state (acquired, idle, constructing).", []string{"state"}, constLabels),
		maxConns: prometheus.NewDesc("stxgate_db_pool_max_connections",
			"Configured PostgreSQL pool size.", nil, constLabels),
		acquires: prometheus.NewDesc("stxgate_db_pool_acquires_total",
			"Connections acquired from the pool.", nil, constLabels),
		emptyAcquires: prometheus.NewDesc("stxgate_db_pool_empty_acquires_total",
			"Acquires that found no idle connection and had to wait or dial: a pool too small for the load.", nil, constLabels),
		waitSeconds: prometheus.NewDesc("stxgate_db_pool_acquire_wait_seconds_total",
			"Total time spent waiting for a pool connection.", nil, constLabels),
	})
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.conns
	ch <- p.maxConns
	ch <- p.acquires
	ch <- p.emptyAcquires
	ch <- p.waitSeconds
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	ch <- prometheus.MustNewConstMetric(p.conns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(p.conns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(p.conns, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(p.maxConns, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(p.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(p.emptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(p.waitSeconds, prometheus.CounterValue, s.AcquireDuration().Seconds())
}
