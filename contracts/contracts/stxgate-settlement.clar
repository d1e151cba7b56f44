;; stxgate-settlement: the reference settlement contract stxgate's executor
;; calls. Custody model (README.md): owners deposit SIP-010 tokens here; an
;; order signed by its owner (SIP-018 under the gateway's domain) spends
;; amount-in of input-token from the owner's deposit, swaps it against the
;; operator's pool for the pair and pays the output tokens to the order's
;; recipient. Only executors the deployer authorised may execute orders.

(use-trait ft-trait .sip-010-trait.sip-010-trait)

;; The gateway's SIP-018 domain (STXGATE_SIP018_NAME / _VERSION). The chain id
;; comes from the chain itself, so an order signed for testnet never verifies
;; on mainnet and the other way round.
(define-constant DOMAIN-NAME "stxgate")
(define-constant DOMAIN-VERSION "1")
(define-constant SIP018-PREFIX 0x534950303138) ;; "SIP018"

;; Swap fee kept by the pool, in basis points.
(define-constant FEE-BPS u30)
(define-constant BPS u10000)

(define-constant ADMIN tx-sender)

;; Error codes (README.md lists them; the executor maps them).
(define-constant ERR-NOT-ADMIN (err u1000))
(define-constant ERR-UNAUTHORISED-EXECUTOR (err u1001))
(define-constant ERR-BAD-SIGNATURE (err u1002))
(define-constant ERR-UUID-USED (err u1003))
(define-constant ERR-EXPIRED (err u1004))
(define-constant ERR-NOT-YET-VALID (err u1005))
(define-constant ERR-INSUFFICIENT-BALANCE (err u1006))
(define-constant ERR-WRONG-TOKEN (err u1007))
(define-constant ERR-NO-POOL (err u1008))
(define-constant ERR-INSUFFICIENT-LIQUIDITY (err u1009))
(define-constant ERR-ZERO-AMOUNT (err u1010))
(define-constant ERR-SAME-TOKEN (err u1011))
(define-constant ERR-NO-BLOCK-TIME (err u1012))
(define-constant ERR-POOL-REVERSED (err u1013))

;; Deposits: what each owner may spend through signed orders or withdraw.
(define-map balances {owner: principal, token: principal} uint)
;; Uuids of executed orders: each executes at most once, ever.
(define-map executed-uuids (string-ascii 64) {owner: principal, block-height: uint})
(define-map executors principal bool)
;; Constant-product pools, one per unordered pair, keyed by the order the
;; admin created them in.
(define-map pools {token-x: principal, token-y: principal} {reserve-x: uint, reserve-y: uint})

;; --- owners: deposit and withdraw -------------------------------------------

;; Moves amount of token from the caller's wallet into the contract and
;; credits the caller's deposit.
(define-public (deposit (token <ft-trait>) (amount uint))
  (let ((owner tx-sender) (key {owner: tx-sender, token: (contract-of token)}))
    (asserts! (> amount u0) ERR-ZERO-AMOUNT)
    (try! (contract-call? token transfer amount owner (as-contract tx-sender) none))
    (map-set balances key (+ (default-to u0 (map-get? balances key)) amount))
    (print {event: "deposit", owner: owner, token: (contract-of token), amount: amount})
    (ok true)))

;; Pays amount of token from the caller's deposit back to the caller. The
;; account is contract-caller, so a contract the owner calls cannot withdraw
;; the owner's deposit.
(define-public (withdraw (token <ft-trait>) (amount uint))
  (let ((owner contract-caller)
        (key {owner: contract-caller, token: (contract-of token)})
        (balance (default-to u0 (map-get? balances key))))
    (asserts! (> amount u0) ERR-ZERO-AMOUNT)
    (asserts! (<= amount balance) ERR-INSUFFICIENT-BALANCE)
    (map-set balances key (- balance amount))
    (try! (as-contract (contract-call? token transfer amount tx-sender owner none)))
    (print {event: "withdraw", owner: owner, token: (contract-of token), amount: amount})
    (ok true)))

;; --- executors: execute-order ------------------------------------------------

;; Executes a signed order: verifies the owner's SIP-018 signature, spends
;; amount-in of input-token from the owner's deposit, swaps it in the pair's
;; pool and transfers the output to the recipient. The traits must be the
;; order's tokens. Returns the amounts. Any error rolls everything back,
;; including the uuid mark.
(define-public (execute-order
    (order {owner: principal, input-token: principal, output-token: principal, amount-in: uint,
            target-price: (string-ascii 81), direction: (string-ascii 2), condition-token: principal,
            recipient: principal, uuid: (string-ascii 64), valid-from: uint, valid-to: uint})
    (signature (buff 65))
    (input-ft <ft-trait>)
    (output-ft <ft-trait>))
  (let ((owner (get owner order))
        (amount-in (get amount-in order))
        (balance-key {owner: owner, token: (get input-token order)})
        (balance (default-to u0 (map-get? balances balance-key)))
        (now (unwrap! (block-time) ERR-NO-BLOCK-TIME)))
    (asserts! (default-to false (map-get? executors contract-caller)) ERR-UNAUTHORISED-EXECUTOR)
    (asserts! (is-eq (contract-of input-ft) (get input-token order)) ERR-WRONG-TOKEN)
    (asserts! (is-eq (contract-of output-ft) (get output-token order)) ERR-WRONG-TOKEN)
    (asserts! (is-signed-by owner (order-hash order) signature) ERR-BAD-SIGNATURE)
    (asserts! (map-insert executed-uuids (get uuid order) {owner: owner, block-height: stacks-block-height})
              ERR-UUID-USED)
    (asserts! (>= now (get valid-from order)) ERR-NOT-YET-VALID)
    (asserts! (<= now (get valid-to order)) ERR-EXPIRED)
    (asserts! (> amount-in u0) ERR-ZERO-AMOUNT)
    (asserts! (<= amount-in balance) ERR-INSUFFICIENT-BALANCE)
    (map-set balances balance-key (- balance amount-in))
    (let ((amount-out (try! (swap (get input-token order) (get output-token order) amount-in)))
          (recipient (get recipient order)))
      (try! (as-contract (contract-call? output-ft transfer amount-out tx-sender recipient none)))
      (print {event: "execute-order", uuid: (get uuid order), owner: owner, recipient: recipient,
              input-token: (get input-token order), output-token: (get output-token order),
              amount-in: amount-in, amount-out: amount-out, executor: contract-caller})
      (ok {amount-in: amount-in, amount-out: amount-out}))))

;; --- admin: executors and liquidity -----------------------------------------

(define-public (set-executor (who principal) (allowed bool))
  (begin
    (asserts! (is-eq contract-caller ADMIN) ERR-NOT-ADMIN)
    (print {event: "set-executor", executor: who, allowed: allowed})
    (ok (if allowed (map-set executors who true) (map-delete executors who)))))

;; Adds liquidity to the pool of token-x and token-y (creating it), from the
;; admin's wallet. The first deposit sets the price.
(define-public (add-liquidity (token-x <ft-trait>) (token-y <ft-trait>) (amount-x uint) (amount-y uint))
  (let ((x (contract-of token-x)) (y (contract-of token-y)) (admin contract-caller))
    (asserts! (is-eq admin ADMIN) ERR-NOT-ADMIN)
    (asserts! (not (is-eq x y)) ERR-SAME-TOKEN)
    (asserts! (and (> amount-x u0) (> amount-y u0)) ERR-ZERO-AMOUNT)
    ;; One pool per unordered pair: the reversed key must not exist.
    (asserts! (is-none (map-get? pools {token-x: y, token-y: x})) ERR-POOL-REVERSED)
    (try! (contract-call? token-x transfer amount-x admin (as-contract tx-sender) none))
    (try! (contract-call? token-y transfer amount-y admin (as-contract tx-sender) none))
    (let ((pool (default-to {reserve-x: u0, reserve-y: u0} (map-get? pools {token-x: x, token-y: y}))))
      (map-set pools {token-x: x, token-y: y}
        {reserve-x: (+ (get reserve-x pool) amount-x), reserve-y: (+ (get reserve-y pool) amount-y)})
      (ok true))))

;; Takes liquidity out of the pool back to the admin's wallet.
(define-public (remove-liquidity (token-x <ft-trait>) (token-y <ft-trait>) (amount-x uint) (amount-y uint))
  (let ((key {token-x: (contract-of token-x), token-y: (contract-of token-y)})
        (pool (unwrap! (map-get? pools key) ERR-NO-POOL))
        (admin contract-caller))
    (asserts! (is-eq admin ADMIN) ERR-NOT-ADMIN)
    (asserts! (and (< amount-x (get reserve-x pool)) (< amount-y (get reserve-y pool))) ERR-INSUFFICIENT-LIQUIDITY)
    (map-set pools key {reserve-x: (- (get reserve-x pool) amount-x), reserve-y: (- (get reserve-y pool) amount-y)})
    (and (> amount-x u0) (try! (as-contract (contract-call? token-x transfer amount-x tx-sender admin none))))
    (and (> amount-y u0) (try! (as-contract (contract-call? token-y transfer amount-y tx-sender admin none))))
    (ok true)))

;; --- read-only ----------------------------------------------------------------

(define-read-only (get-balance (owner principal) (token principal))
  (default-to u0 (map-get? balances {owner: owner, token: token})))

(define-read-only (get-executed (uuid (string-ascii 64)))
  (map-get? executed-uuids uuid))

(define-read-only (is-executor (who principal))
  (default-to false (map-get? executors who)))

;; The time execute-order judges validity windows against (unix seconds).
(define-read-only (get-block-time)
  (block-time))

;; Reserves of the pool seen from input-token's side.
(define-read-only (get-reserves (input-token principal) (output-token principal))
  (match (map-get? pools {token-x: input-token, token-y: output-token})
    pool (ok {reserve-in: (get reserve-x pool), reserve-out: (get reserve-y pool)})
    (match (map-get? pools {token-x: output-token, token-y: input-token})
      pool (ok {reserve-in: (get reserve-y pool), reserve-out: (get reserve-x pool)})
      ERR-NO-POOL)))

;; What amount-in of input-token would buy now.
(define-read-only (get-quote (input-token principal) (output-token principal) (amount-in uint))
  (let ((r (try! (get-reserves input-token output-token))))
    (ok (constant-product-out amount-in (get reserve-in r) (get reserve-out r)))))

;; The SIP-018 domain hash under which orders must be signed.
(define-read-only (domain-hash)
  (sha256 (unwrap-panic (to-consensus-buff? {name: DOMAIN-NAME, version: DOMAIN-VERSION, chain-id: chain-id}))))

;; The SIP-018 hash an owner signs: sha256("SIP018" || domain hash || sha256(order)).
(define-read-only (order-hash
    (order {owner: principal, input-token: principal, output-token: principal, amount-in: uint,
            target-price: (string-ascii 81), direction: (string-ascii 2), condition-token: principal,
            recipient: principal, uuid: (string-ascii 64), valid-from: uint, valid-to: uint}))
  (sha256 (concat SIP018-PREFIX (concat (domain-hash) (sha256 (unwrap-panic (to-consensus-buff? order)))))))

;; --- private -----------------------------------------------------------------

;; Whether signature (RSV, recovery id 0..3 last) over hash recovers a public
;; key whose hash160 is owner's. owner must be a standard principal of this
;; chain's network: a contract cannot sign, and an address of the other network
;; is refused even though it shares the hash160.
(define-private (is-signed-by (owner principal) (hash (buff 32)) (signature (buff 65)))
  (match (secp256k1-recover? hash signature)
    public-key (match (principal-destruct? owner)
                 parts (and (is-none (get name parts)) (is-eq (get hash-bytes parts) (hash160 public-key)))
                 other-network false)
    recover-error false))

;; The time of the last block: the current block's time is not visible to
;; Clarity 3, so an order is judged against the parent block's timestamp.
(define-private (block-time)
  (get-stacks-block-info? time (- stacks-block-height u1)))

(define-private (constant-product-out (amount-in uint) (reserve-in uint) (reserve-out uint))
  (let ((in-with-fee (* amount-in (- BPS FEE-BPS))))
    (/ (* in-with-fee reserve-out) (+ (* reserve-in BPS) in-with-fee))))

;; Moves amount-in into the pool's input reserve and returns what it buys.
(define-private (swap (input-token principal) (output-token principal) (amount-in uint))
  (let ((forward {token-x: input-token, token-y: output-token})
        (backward {token-x: output-token, token-y: input-token}))
    (match (map-get? pools forward)
      pool (let ((out (constant-product-out amount-in (get reserve-x pool) (get reserve-y pool))))
             (asserts! (and (> out u0) (< out (get reserve-y pool))) ERR-INSUFFICIENT-LIQUIDITY)
             (map-set pools forward {reserve-x: (+ (get reserve-x pool) amount-in), reserve-y: (- (get reserve-y pool) out)})
             (ok out))
      (match (map-get? pools backward)
        pool (let ((out (constant-product-out amount-in (get reserve-y pool) (get reserve-x pool))))
               (asserts! (and (> out u0) (< out (get reserve-x pool))) ERR-INSUFFICIENT-LIQUIDITY)
               (map-set pools backward {reserve-x: (- (get reserve-x pool) out), reserve-y: (+ (get reserve-y pool) amount-in)})
               (ok out))
        ERR-NO-POOL))))
