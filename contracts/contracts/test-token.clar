;; A SIP-010 token for tests: anyone may hold and transfer it; only the
;; deployer mints. Deployed twice (token-a, token-b) so that an order has an
;; input and an output token.
(impl-trait .sip-010-trait.sip-010-trait)

(define-fungible-token token)

(define-constant DEPLOYER tx-sender)
(define-constant ERR-NOT-DEPLOYER (err u401))
(define-constant ERR-NOT-TOKEN-OWNER (err u403))

(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34))))
  (begin
    ;; contract-caller too, so that a contract can move its own tokens (as-contract).
    (asserts! (or (is-eq tx-sender sender) (is-eq contract-caller sender)) ERR-NOT-TOKEN-OWNER)
    (try! (ft-transfer? token amount sender recipient))
    (match memo m (print m) 0x)
    (ok true)))

(define-public (mint (amount uint) (recipient principal))
  (begin
    (asserts! (is-eq contract-caller DEPLOYER) ERR-NOT-DEPLOYER)
    (ft-mint? token amount recipient)))

(define-read-only (get-name) (ok "stxgate test token"))
(define-read-only (get-symbol) (ok "TEST"))
(define-read-only (get-decimals) (ok u6))
(define-read-only (get-balance (who principal)) (ok (ft-get-balance token who)))
(define-read-only (get-total-supply) (ok (ft-get-supply token)))
(define-read-only (get-token-uri) (ok none))
