package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Info is what a client needs before it asks a wallet to sign: the network
// (an address of the other one is refused), the SIP-018 domain orders are
// signed under, and the signature window. GET /api/v1/info, public.
type Info struct {
	Network                string     `json:"network"`
	SIP018Domain           DomainView `json:"sip018Domain"`
	SignatureWindowSeconds int        `json:"signatureWindowSeconds"`
	SignatureSkewSeconds   int        `json:"signatureSkewSeconds"`
	MessageDomain          *string    `json:"messageDomain"` // when set, signed messages must carry "domain": this
	Permissions            []string   `json:"permissions"`
	// Store is "postgres", or "memory" (nothing survives a restart); Settlement
	// is "stacks", "relayer" or "simulated" (no chain transaction). The
	// dashboard warns while either is the embedded default.
	Store      string `json:"store"`
	Settlement string `json:"settlement"`
}

// DomainView is a SIP-018 domain as JSON.
type DomainView struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	ChainID uint64 `json:"chainId"`
}

// NewInfo describes a deployment for GET /api/v1/info.
func NewInfo(n stacks.Network, d stacks.Domain, window, skew time.Duration, messageDomain string) Info {
	info := Info{
		Network:                n.String(),
		SIP018Domain:           DomainView{Name: d.Name, Version: d.Version, ChainID: d.ChainID},
		SignatureWindowSeconds: int(window / time.Second),
		SignatureSkewSeconds:   int(skew / time.Second),
		Permissions:            permStrings(apikey.AllPermissions),
	}
	if messageDomain != "" {
		info.MessageDomain = &messageDomain
	}
	return info
}

// getInfo: GET /api/v1/info.
func (s *Server) getInfo(c echo.Context) error {
	return c.JSON(http.StatusOK, s.info)
}
