// Package stacks implements the Stacks wallet cryptography stxgate relies on:
// c32check addresses and principals, stx_signMessage message signatures,
// Clarity consensus serialisation (both ways) and SIP-018 structured-data
// signatures; and Stacks transactions: contract calls and STX transfers with
// a single-sig origin, post-conditions, signing and decoding.
//
// It is pure (no I/O, no global mutable state) so that bots, signing servers
// and executors can import it and compute byte-for-byte what the gateway
// verifies and what a Stacks node accepts. Every algorithm is pinned by the
// vectors in shared/vectors/stacks-vectors.json and stacks-tx-vectors.json,
// which were produced by the stacks.js libraries wallets use.
//
// Transactions: NewContractCall / NewTokenTransfer (or NewExecuteOrder) build
// an unsigned transaction, Transaction.Sign signs it as its origin,
// Transaction.Serialize gives the bytes for POST /v2/transactions and
// Transaction.TxID their txid; ParseTransaction decodes and
// Transaction.VerifyOrigin checks the signature as a node does. The sighash
// chain is stacks-core's: the initial sighash is sha512/256 of the
// transaction with the origin's nonce, fee and signature cleared; the origin
// signs sha512/256(initial || 0x04 || fee || nonce) with RFC 6979 and stores
// the signature as VRS (recovery id first). Only the kind stxgate sends is
// handled: standard (not sponsored) authorization, single-sig P2PKH with a
// compressed key, contract-call and token-transfer payloads; anything else
// decodes to ErrUnsupportedTransaction.
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
//   - Decoding a Clarity value requires tuple keys in canonical order (no
//     duplicates), so every decoded value or transaction serialises back to
//     exactly its bytes (stacks-core would accept other orders but re-serialise
//     them sorted, so such a transaction's txid would not be the hash of its bytes).
//   - Contract names in decoded bytes may have up to 128 characters, as
//     stacks-core decodes them; ParsePrincipal keeps the deployable 40.
//
// Elliptic-curve operations come from github.com/decred/dcrd/dcrec/secp256k1/v4.
package stacks
