package config

import (
	"fmt"
	"time"
)

// MinEventsRetention is the shortest order event retention: DESIGN.md keeps
// events at least a day, so a stream can resume after a day's outage.
const MinEventsRetention = 24 * time.Hour

// validateEvents checks the order event stream settings.
func (c Config) validateEvents() []error {
	var errs []error
	if c.EventsHeartbeat <= 0 || c.EventsPoll <= 0 {
		errs = append(errs, fmt.Errorf("STXGATE_EVENTS_HEARTBEAT and STXGATE_EVENTS_POLL must be positive, got %s and %s", c.EventsHeartbeat, c.EventsPoll))
	}
	if c.EventsPerIP <= 0 || c.EventsBuffer <= 0 {
		errs = append(errs, fmt.Errorf("STXGATE_EVENTS_PER_IP and STXGATE_EVENTS_BUFFER must be positive, got %d and %d", c.EventsPerIP, c.EventsBuffer))
	}
	if c.EventsRetention < MinEventsRetention {
		errs = append(errs, fmt.Errorf("STXGATE_EVENTS_RETENTION must be at least %s, got %s", MinEventsRetention, c.EventsRetention))
	}
	return errs
}
