// Package readme holds the test that runs the README's first round trip as
// a newcomer pastes it: the block, unchanged, in bash, on a copy of the
// checkout, against the gateway the block itself starts.
package readme
