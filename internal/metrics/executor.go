package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// ExecutorStats is what a stacks executor reports at scrape time.
type ExecutorStats struct {
	Broadcasts       int64   // broadcasts the node accepted
	BroadcastSeconds float64 // their total latency
	BroadcastErrors  int64   // broadcasts refused or failed
	Confirmed        int64   // transactions seen mined with success
	ConfirmSeconds   float64 // their total broadcast → confirmation time
	FeesPaid         int64   // µSTX of those transactions
	GapsFilled       int64
	Replacements     int64
	Rejected         int64 // definitive refusals (the order reopened)
	Unconfirmed      int64 // transactions pending now (-1: unknown)
}

// executorCollector reads an executor account's counters at scrape time.
type executorCollector struct {
	read func() ExecutorStats

	broadcast, confirm, errors, fees, gaps, replacements, rejected, unconfirmed *prometheus.Desc
}

// WatchExecutor exports the stacks executor's counters under the label
// executor=address (an account address, public on chain; bounded by the
// configured accounts).
func (m *Metrics) WatchExecutor(address string, read func() ExecutorStats) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"executor": address}
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, l) }
	m.Register(&executorCollector{read: read,
		broadcast:    d("stxgate_stacks_broadcast_seconds", "Latency of broadcasts the Stacks node accepted (POST /v2/transactions)."),
		confirm:      d("stxgate_stacks_confirm_seconds", "Time from broadcast to the tracker seeing the transaction mined with success."),
		errors:       d("stxgate_stacks_broadcast_errors_total", "Broadcasts the node refused or that failed (each retry counts)."),
		fees:         d("stxgate_stacks_fees_paid_microstx_total", "Fees of the executor's transactions mined with success, in µSTX."),
		gaps:         d("stxgate_stacks_nonce_gaps_filled_total", "Missing nonces the gap filler closed (re-broadcast or filler transfer)."),
		replacements: d("stxgate_stacks_replacements_total", "Dropped or stuck transactions replaced by fee under the same nonce."),
		rejected:     d("stxgate_stacks_rejected_total", "Executions the node refused for good (the order reopened with the reason)."),
		unconfirmed:  d("stxgate_stacks_unconfirmed_transactions", "Executor transactions reserved or broadcast and not yet mined (the mempool chains at most 25)."),
	})
}

func (c *executorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.broadcast, c.confirm, c.errors, c.fees, c.gaps, c.replacements, c.rejected, c.unconfirmed} {
		ch <- d
	}
}

func (c *executorCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	ch <- prometheus.MustNewConstSummary(c.broadcast, uint64(s.Broadcasts), s.BroadcastSeconds, nil)
	ch <- prometheus.MustNewConstSummary(c.confirm, uint64(s.Confirmed), s.ConfirmSeconds, nil)
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.errors, s.BroadcastErrors)
	counter(c.fees, s.FeesPaid)
	counter(c.gaps, s.GapsFilled)
	counter(c.replacements, s.Replacements)
	counter(c.rejected, s.Rejected)
	if s.Unconfirmed >= 0 {
		ch <- prometheus.MustNewConstMetric(c.unconfirmed, prometheus.GaugeValue, float64(s.Unconfirmed))
	}
}

// WatchExecutorQueue exports how many executions the stacks executor left
// to reconciliation because every account of its pool had the most
// unconfirmed transactions the mempool chains (a pool-wide count, no label).
func (m *Metrics) WatchExecutorQueue(read func() int64) {
	if m == nil {
		return
	}
	m.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stxgate_stacks_queued_total",
		Help: "Executions left to reconciliation because every executor account had the most unconfirmed transactions."},
		func() float64 { return float64(read()) }))
}
