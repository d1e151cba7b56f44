//go:build race

package faulttest

// raceEnabled builds the gateway under test with the race detector too, so a
// race inside the process under faults fails the test.
const raceEnabled = true
