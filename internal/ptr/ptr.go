// Package ptr holds what the domain packages do with pointers used as
// optional values (a nil *time.Time: not yet).
package ptr

// Clone returns a pointer to a copy of *p, or nil for nil: a deep copy's
// optional fields share nothing with the original.
func Clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
