// Package scaletest holds the scale-out integration tests: the limiter,
// replay store and revocation on a real Redis Cluster it starts itself,
// three gateway processes on one PostgreSQL and Redis, public reads on a
// replica, and the /metrics series after traffic. Everything runs on
// loopback and is torn down by the tests.
package scaletest
