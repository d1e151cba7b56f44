// Package faulttest holds the process-level reliability tests: real stxgate
// binaries on loopback ports, started by the tests against real PostgreSQL
// and Redis, with faults injected from outside (a killed Redis, a cut TCP
// proxy in front of PostgreSQL, a misbehaving relayer, SIGKILL and SIGTERM,
// slow and oversized clients). Each test asserts and logs its figures:
// requests sent, 2xx, 4xx, 503, 500 (always 0), orders per state and
// settlements per order (never more than one).
//
// The package has no non-test code besides this comment.
package faulttest
