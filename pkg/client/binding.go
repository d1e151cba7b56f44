package client

import (
	"context"
	"fmt"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// messageBinding is what every signed message carries to bind it to one
// gateway: its network and, when the gateway has one, its domain.
type messageBinding struct {
	network stacks.Network
	domain  string
}

// binding is the network and domain of signed messages. What the caller set
// (WithNetwork, WithMessageDomain) is used as is; the rest comes from the
// gateway's /api/v1/info, read once (a failed read is tried again on the
// next call). A client set to one network refuses to sign for a gateway of
// the other: the gateway would refuse the message anyway, after the wallet
// had been asked to sign it.
func (c *Client) binding(ctx context.Context) (messageBinding, error) {
	if c.networkSet && c.messageDomainSet {
		return messageBinding{network: c.network, domain: c.messageDomain}, nil
	}
	c.bindMu.Lock()
	defer c.bindMu.Unlock()
	if c.bound != nil {
		return *c.bound, nil
	}
	info, err := c.Info(ctx)
	if err != nil {
		return messageBinding{}, fmt.Errorf("stxgate: read the gateway's network and domain (/api/v1/info): %w", err)
	}
	n, err := stacks.ParseNetwork(info.Network)
	if err != nil {
		return messageBinding{}, fmt.Errorf("stxgate: /api/v1/info: %w", err)
	}
	b := messageBinding{network: n, domain: c.messageDomain}
	if c.networkSet && n != c.network {
		return messageBinding{}, fmt.Errorf("stxgate: the gateway runs on %s, this client signs for %s (WithNetwork)", n, c.network)
	}
	if !c.messageDomainSet && info.MessageDomain != nil {
		b.domain = *info.MessageDomain
	}
	c.bound = &b
	return b, nil
}
