package audit

import (
	"context"
	"slices"
	"sync"
)

// Memory is the in-process Store of the embedded default. It only ever
// appends; nothing survives a restart.
type Memory struct {
	mu     sync.RWMutex
	events []*Event // in ID order
}

// NewMemory returns an empty trail.
func NewMemory() *Memory { return &Memory{} }

// Append implements Store.
func (m *Memory) Append(_ context.Context, e *Event) error {
	details, _, err := normalise(e.Details)
	if err != nil {
		return err
	}
	c := *e
	c.Details = details
	c.At = c.At.UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	c.ID = int64(len(m.events)) + 1
	m.events = append(m.events, &c)
	e.ID = c.ID
	return nil
}

// List implements Store.
func (m *Memory) List(_ context.Context, q Query) ([]*Event, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []*Event{}
	for i := len(m.events) - 1; i >= 0 && len(out) < q.limit(); i-- {
		e := m.events[i]
		if e.Wallet != q.Wallet || (q.KeyID != "" && e.KeyID != q.KeyID) || (q.BeforeID > 0 && e.ID >= q.BeforeID) {
			continue
		}
		c := *e
		c.Details, _, _ = normalise(e.Details) // a copy the caller may modify
		out = append(out, &c)
	}
	return slices.Clip(out), nil
}
