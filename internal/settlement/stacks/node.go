package stacks

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// node talks to a Stacks node and the Hiro API in front of it (one URL:
// STXGATE_STACKS_NODE_URL).
type node struct {
	url  string
	http *http.Client
}

// Rejection is a broadcast the node refused (stacks-node's MemPoolRejection).
type Rejection struct {
	Reason     string         `json:"reason"`
	ReasonData map[string]any `json:"reason_data"`
}

func (r *Rejection) Error() string { return "node rejected the transaction: " + r.Reason }

// expected reads reason_data.expected as a number (plain or 0x-hex u128).
func (r *Rejection) expected() (uint64, bool) {
	switch v := r.ReasonData["expected"].(type) {
	case float64:
		return uint64(v), v >= 0
	case string:
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
		return n, err == nil
	}
	return 0, false
}

// accountNonces is GET /extended/v1/address/{addr}/nonces.
type accountNonces struct {
	LastExecuted  *uint64  `json:"last_executed_tx_nonce"`
	PossibleNext  uint64   `json:"possible_next_nonce"`
	Missing       []uint64 `json:"detected_missing_nonces"`
	MempoolNonces []uint64 `json:"detected_mempool_nonces"`
}

// confirmed is the account's next nonce on chain (all below it are mined).
func (a accountNonces) confirmed() uint64 {
	if a.LastExecuted == nil {
		return 0
	}
	return *a.LastExecuted + 1
}

// chainTx is the part of GET /extended/v1/tx/{txid} the executor reads.
type chainTx struct {
	Status      string `json:"tx_status"`
	BlockHeight int64  `json:"block_height"`
	Nonce       uint64 `json:"nonce"`
	Result      struct {
		Repr string `json:"repr"`
	} `json:"tx_result"`
	PostConditionFailure string `json:"post_condition_failure"`
	ContractCall         struct {
		FunctionName string `json:"function_name"`
	} `json:"contract_call"`
}

func (n *node) do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("stacks node %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("stacks node %s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

func (n *node) getJSON(ctx context.Context, path string, out any) (int, error) {
	status, b, err := n.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return status, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return status, fmt.Errorf("stacks node GET %s: %w", path, err)
	}
	return status, nil
}

func (n *node) nonces(ctx context.Context, addr string) (accountNonces, error) {
	var a accountNonces
	status, err := n.getJSON(ctx, "/extended/v1/address/"+addr+"/nonces", &a)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("stacks node: nonces of %s: status %d", addr, status)
	}
	return a, err
}

// tx returns the transaction's record; found is false on 404.
func (n *node) tx(ctx context.Context, txid string) (t chainTx, found bool, err error) {
	status, err := n.getJSON(ctx, "/extended/v1/tx/"+txid, &t)
	switch {
	case err != nil:
		return t, false, err
	case status == http.StatusNotFound:
		return t, false, nil
	case status != http.StatusOK:
		return t, false, fmt.Errorf("stacks node: transaction %s: status %d", txid, status)
	}
	return t, true, nil
}

// estimateFee asks POST /v2/fees/transaction for the middle estimate of a
// transaction with payload; ok is false when the node has none.
func (n *node) estimateFee(ctx context.Context, payload []byte, length int) (fee uint64, ok bool, err error) {
	body, _ := json.Marshal(map[string]any{"transaction_payload": "0x" + hex.EncodeToString(payload), "estimated_len": length})
	status, b, err := n.do(ctx, http.MethodPost, "/v2/fees/transaction", "application/json", body)
	if err != nil {
		return 0, false, err
	}
	if status != http.StatusOK {
		return 0, false, nil
	}
	var out struct {
		Estimations []struct {
			Fee uint64 `json:"fee"`
		} `json:"estimations"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Estimations) == 0 {
		return 0, false, nil
	}
	return out.Estimations[len(out.Estimations)/2].Fee, true, nil
}

// broadcast posts raw transaction bytes. A refusal is a *Rejection; any
// other error leaves the outcome unknown (the node may have taken it).
func (n *node) broadcast(ctx context.Context, raw []byte) error {
	status, b, err := n.do(ctx, http.MethodPost, "/v2/transactions", "application/octet-stream", raw)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		return nil
	}
	var r Rejection
	if status == http.StatusBadRequest && json.Unmarshal(b, &r) == nil && r.Reason != "" {
		return &r
	}
	return fmt.Errorf("stacks node: broadcast: status %d: %.200s", status, b)
}

// fungibleTokenName reads a token contract's define-fungible-token name
// from its interface (post-conditions name the asset, the order does not).
func (n *node) fungibleTokenName(ctx context.Context, contract string) (string, error) {
	addr, name, ok := strings.Cut(contract, ".")
	if !ok {
		return "", fmt.Errorf("token %s is not a contract", contract)
	}
	var out struct {
		FungibleTokens []struct {
			Name string `json:"name"`
		} `json:"fungible_tokens"`
	}
	status, err := n.getJSON(ctx, "/v2/contracts/interface/"+addr+"/"+name, &out)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || len(out.FungibleTokens) == 0 {
		return "", fmt.Errorf("token %s: no fungible token in its interface (status %d)", contract, status)
	}
	return out.FungibleTokens[0].Name, nil
}

// callReadOnly runs a read-only function and returns the result's hex.
func (n *node) callReadOnly(ctx context.Context, contract, function, sender string, args [][]byte) (string, error) {
	addr, name, _ := strings.Cut(contract, ".")
	hexArgs := make([]string, len(args))
	for i, a := range args {
		hexArgs[i] = "0x" + hex.EncodeToString(a)
	}
	body, _ := json.Marshal(map[string]any{"sender": sender, "arguments": hexArgs})
	status, b, err := n.do(ctx, http.MethodPost, "/v2/contracts/call-read/"+addr+"/"+name+"/"+function, "application/json", body)
	if err != nil {
		return "", err
	}
	var out struct {
		Okay   bool   `json:"okay"`
		Result string `json:"result"`
		Cause  any    `json:"cause"`
	}
	if status != http.StatusOK || json.Unmarshal(b, &out) != nil {
		return "", fmt.Errorf("stacks node: call-read %s: status %d", function, status)
	}
	if !out.Okay {
		return "", fmt.Errorf("stacks node: call-read %s: %v", function, out.Cause)
	}
	return out.Result, nil
}

var errNoTx = errors.New("no transaction recorded for this order")

func since(t *time.Time, now time.Time) time.Duration {
	if t == nil {
		return 0
	}
	return now.Sub(*t)
}
