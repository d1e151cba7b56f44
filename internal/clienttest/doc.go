// Package clienttest runs the bot SDK (pkg/client, its own module) against a
// real in-process gateway: PostgreSQL, Redis and simulated settlement over
// loopback HTTP. It lives in the server module because it starts the server;
// pkg/'s own tests need nothing of it.
package clienttest
