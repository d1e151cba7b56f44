package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// SettlementMode is the settlement the gateway runs: STXGATE_SETTLEMENT, or
// relayer when only STXGATE_RELAYER_URL is set, else simulated.
func (c Config) SettlementMode() string {
	switch {
	case c.Settlement != "":
		return c.Settlement
	case c.RelayerURL != "":
		return "relayer"
	}
	return "simulated"
}

// readExecutorKeyFile reads the executor keys (stacks settlement): one per
// line, a pool of executor accounts when there are several; blank lines and
// lines starting with # are skipped. Errors name the file and the line,
// never the content.
func (c *Config) readExecutorKeyFile() error {
	if c.ExecutorKeyFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.ExecutorKeyFile)
	if err != nil {
		return fmt.Errorf("STXGATE_EXECUTOR_KEY_FILE: cannot read %s: %v", c.ExecutorKeyFile, errors.Unwrap(err))
	}
	c.ExecutorKeys = nil
	seen := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		k := strings.TrimSpace(line)
		if k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		if _, err := stacks.ParsePrivateKey(k); err != nil || (len(k) != 64 && len(k) != 66) {
			return fmt.Errorf("STXGATE_EXECUTOR_KEY_FILE: line %d of %s does not hold a private key as 64 or 66 hex digits", i+1, c.ExecutorKeyFile)
		}
		if seen[strings.ToLower(k[:64])] {
			return fmt.Errorf("STXGATE_EXECUTOR_KEY_FILE: line %d of %s repeats a key of an earlier line", i+1, c.ExecutorKeyFile)
		}
		seen[strings.ToLower(k[:64])] = true
		c.ExecutorKeys = append(c.ExecutorKeys, k)
	}
	if len(c.ExecutorKeys) == 0 {
		return fmt.Errorf("STXGATE_EXECUTOR_KEY_FILE: %s is empty", c.ExecutorKeyFile)
	}
	if len(c.ExecutorKeys) > MaxExecutorAccounts {
		return fmt.Errorf("STXGATE_EXECUTOR_KEY_FILE: %s holds %d keys, at most %d executor accounts are supported", c.ExecutorKeyFile, len(c.ExecutorKeys), MaxExecutorAccounts)
	}
	return nil
}

// MaxExecutorAccounts bounds the executor pool (each account is a metrics
// label and a ledger row set).
const MaxExecutorAccounts = 64

// validateSettlement checks the chosen settlement has what it needs.
func (c Config) validateSettlement() []error {
	var errs []error
	mode := c.SettlementMode()
	if mode == "relayer" && c.RelayerURL == "" {
		errs = append(errs, errors.New("STXGATE_SETTLEMENT=relayer needs STXGATE_RELAYER_URL"))
	}
	if mode != "stacks" {
		return errs
	}
	if c.ExecutorKeyFile == "" {
		errs = append(errs, errors.New("STXGATE_SETTLEMENT=stacks needs STXGATE_EXECUTOR_KEY_FILE (the executor account's key)"))
	}
	if c.StacksNodeURL == "" {
		errs = append(errs, errors.New("STXGATE_SETTLEMENT=stacks needs STXGATE_STACKS_NODE_URL"))
	}
	if p, err := stacks.ParsePrincipal(c.SettlementContract); err != nil || !p.IsContract() {
		errs = append(errs, errors.New("STXGATE_SETTLEMENT=stacks needs STXGATE_SETTLEMENT_CONTRACT as <address>.<name>"))
	} else if err := stacks.CheckAddressNetwork(p.Address, c.Network); err != nil {
		errs = append(errs, fmt.Errorf("STXGATE_SETTLEMENT_CONTRACT belongs to another network (this gateway runs on %s)", c.Network))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("STXGATE_SETTLEMENT=stacks needs DATABASE_URL: executor nonces are reserved in PostgreSQL, which the in-memory store cannot do"))
	}
	if c.StacksFeeFloor <= 0 || c.StacksFeeCap < c.StacksFeeFloor {
		errs = append(errs, fmt.Errorf("STXGATE_STACKS_FEE_FLOOR must be positive and STXGATE_STACKS_FEE_CAP at least the floor, got %d and %d", c.StacksFeeFloor, c.StacksFeeCap))
	}
	if c.StacksPollInterval <= 0 || c.StacksStuckAfter < time.Second {
		errs = append(errs, errors.New("STXGATE_STACKS_POLL_INTERVAL must be positive and STXGATE_STACKS_STUCK_AFTER at least 1s"))
	}
	if c.StacksQueueWait < 0 || c.StacksQueueWait+5*time.Second > c.WriteTimeout {
		errs = append(errs, fmt.Errorf("STXGATE_STACKS_QUEUE_WAIT must be at least 0 and leave 5s of STXGATE_WRITE_TIMEOUT (%s) for the broadcast and the answer, got %s", c.WriteTimeout, c.StacksQueueWait))
	}
	if c.StacksChainLimit < 1 || c.StacksChainLimit > 25 {
		errs = append(errs, fmt.Errorf("STXGATE_STACKS_CHAIN_LIMIT must be in [1, 25] (a Stacks node chains at most 25 unconfirmed transactions per account), got %d", c.StacksChainLimit))
	}
	if c.StacksSlippageBps < 0 || c.StacksSlippageBps >= 10_000 {
		errs = append(errs, fmt.Errorf("STXGATE_STACKS_SLIPPAGE_BPS must be in [0, 10000), got %d", c.StacksSlippageBps))
	}
	return errs
}
