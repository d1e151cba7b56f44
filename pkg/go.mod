module github.com/stxgate/stxgate/pkg

go 1.26.8

require (
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.1
	github.com/google/uuid v1.6.0
	golang.org/x/crypto v0.58.0
)
