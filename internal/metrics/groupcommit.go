package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stxgate/stxgate/internal/groupcommit"
)

// Batcher names (label batcher=…).
const (
	BatchOrderClaims = "order_claims"
	BatchOrderFills  = "order_fills"
	// Claim and fill in one statement (instant settlement: the simulated one).
	BatchOrderClaimFills = "order_claim_fills"
	BatchLimiter         = "limiter_checks"
	BatchReplay          = "replay_claims"
)

// batchCollector reads a group-commit batcher's counts at scrape time:
// inputs / batches is how many requests share one statement or pipeline.
type batchCollector struct {
	stats                   func() groupcommit.Stats
	batches, inputs, splits *prometheus.Desc
}

// WatchBatcher exports the counts of a batcher under batcher=name.
func (m *Metrics) WatchBatcher(name string, stats func() groupcommit.Stats) {
	if m == nil || stats == nil {
		return
	}
	l := prometheus.Labels{"batcher": name}
	m.Register(&batchCollector{
		stats: stats,
		batches: prometheus.NewDesc("stxgate_group_commit_batches_total",
			"Statements (PostgreSQL) or pipelines (Redis) a batcher sent; inputs_total / batches_total is the mean batch.", nil, l),
		inputs: prometheus.NewDesc("stxgate_group_commit_inputs_total",
			"Requests' writes or checks the batcher carried.", nil, l),
		splits: prometheus.NewDesc("stxgate_group_commit_splits_total",
			"Batches refused for their data and retried one input at a time (should stay near zero).", nil, l),
	})
}

func (b *batchCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.batches
	ch <- b.inputs
	ch <- b.splits
}

func (b *batchCollector) Collect(ch chan<- prometheus.Metric) {
	s := b.stats()
	ch <- prometheus.MustNewConstMetric(b.batches, prometheus.CounterValue, float64(s.Batches))
	ch <- prometheus.MustNewConstMetric(b.inputs, prometheus.CounterValue, float64(s.Inputs))
	ch <- prometheus.MustNewConstMetric(b.splits, prometheus.CounterValue, float64(s.Splits))
}
