package keyauth

import "github.com/stxgate/stxgate/internal/metrics"

// SetMetrics makes a count cache lookups, generation reloads and limiter
// decisions. Call it before the first request.
func (a *Authenticator) SetMetrics(m *metrics.Metrics) { a.metrics = m }
