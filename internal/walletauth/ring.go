package walletauth

import "sync"

// boundedMap is a map of at most len(ring) entries for the verifier's
// caches: the oldest inserted leaves first, so memory is fixed whatever
// clients send. Safe for concurrent use.
type boundedMap[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]V
	ring    []K // insertion order
	next    int
	filled  bool
}

func newBoundedMap[K comparable, V any](size int) *boundedMap[K, V] {
	return &boundedMap[K, V]{entries: make(map[K]V, size), ring: make([]K, size)}
}

func (m *boundedMap[K, V]) get(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.entries[k]
	return v, ok
}

// put sets k's value; a new k takes the oldest entry's place when full.
func (m *boundedMap[K, V]) put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[k]; ok {
		m.entries[k] = v
		return
	}
	if m.filled {
		delete(m.entries, m.ring[m.next])
	}
	m.ring[m.next] = k
	m.entries[k] = v
	if m.next++; m.next == len(m.ring) {
		m.next, m.filled = 0, true
	}
}

func (m *boundedMap[K, V]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
