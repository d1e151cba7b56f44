// Package stacks implements the Stacks wallet cryptography stxgate relies on:
// c32check addresses and principals, stx_signMessage message signatures,
// Clarity consensus serialisation and SIP-018 structured-data signatures.
//
// It is pure (no I/O, no global mutable state) so that bots and signing
// servers can import it and compute byte-for-byte what the gateway verifies.
// Every algorithm is pinned by the vectors in shared/vectors/stacks-vectors.json,
// which were produced by the stacks.js libraries wallets use.
//
// Verification policy (see DESIGN.md, "Wallet signatures"): signatures are
// 65 bytes of hex, RSV or VRS, optional 0x prefix, any letter case; v may be
// 0..3 or 27..34; high-S and uncompressed public keys are rejected; the
// recovered key's P2PKH address must equal the claimed address exactly.
//
// Choices where stacks.js is lenient or silent:
//   - Addresses must be spelled canonically (upper case, no O/I/L
//     substitutions); stacks.js normalises some misspellings, we refuse them.
//   - Contract names follow stacks-core: [a-zA-Z][a-zA-Z0-9_-]*, 1..40 characters.
//   - Tuple keys are serialised in byte order, as Clarity does; stacks.js uses
//     localeCompare, which agrees only for keys made of [a-z0-9-].
//   - A high-S signature is refused even though stacks.js verifies it; if it
//     is a malleated signature of the claimed address the error is ErrHighS.
//   - Private keys must be in the compressed (…01) form.
//
// Elliptic-curve operations come from github.com/decred/dcrd/dcrec/secp256k1/v4.
package stacks
