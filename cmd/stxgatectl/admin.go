package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/stxgate/stxgate/pkg/client"
)

const adminUsage = `admin suspend <key id> [--reason R] | admin unsuspend <key id> [--reason R] | admin get <key id> | admin audit <key id> [--limit N] [--cursor C]`

// adminCmd drives the operator API with the token in STXGATE_OPERATOR_TOKEN
// (never a flag: flags end up in shell history and process lists).
//
//	stxgatectl admin suspend <key id> [--reason R]    refused at once on every instance
//	stxgatectl admin unsuspend <key id> [--reason R]
//	stxgatectl admin get <key id>
//	stxgatectl admin audit <key id> [--limit N] [--cursor C]
func adminCmd(ctx context.Context, g *globals, sub string, args []string) error {
	fs := newFlags("admin " + sub)
	reason := fs.String("reason", "", "why (kept in the audit trail; the key's owner reads it)")
	limit := fs.Int("limit", 0, "events per page (1..100)")
	cursor := fs.String("cursor", "", "next page, as printed by the previous one")
	// Flags may come before or after the key id.
	var pos []string
	for rest := args; ; {
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	switch sub {
	case "suspend", "unsuspend", "get", "audit":
	default:
		return usagef("admin: want %s", adminUsage)
	}
	if len(pos) != 1 {
		return usagef("admin %s: want one key id", sub)
	}
	token := strings.TrimSpace(g.getenv("STXGATE_OPERATOR_TOKEN"))
	if token == "" {
		return usagef("admin: set STXGATE_OPERATOR_TOKEN to the gateway's operator token")
	}
	c, err := g.client(ctx, false, client.WithOperatorToken(token))
	if err != nil {
		return err
	}
	id := pos[0]
	var k *client.Key
	switch sub {
	case "suspend":
		k, _, err = c.AdminSuspendKey(ctx, id, *reason)
	case "unsuspend":
		k, _, err = c.AdminUnsuspendKey(ctx, id, *reason)
	case "get":
		k, _, err = c.AdminGetKey(ctx, id)
	case "audit":
		return g.adminAudit(ctx, c, id, client.AuditQuery{Limit: *limit, Cursor: *cursor})
	}
	return g.showKey(k, err)
}

func (g *globals) adminAudit(ctx context.Context, c *client.Client, id string, q client.AuditQuery) error {
	page, _, err := c.AdminKeyAudit(ctx, id, q)
	if err != nil {
		return err
	}
	if g.json {
		return g.printJSON(page)
	}
	rows := make([][]string, len(page.Events))
	for i, e := range page.Events {
		rows[i] = []string{fmt.Sprint(e.ID), e.At.UTC().Format("2006-01-02T15:04:05Z"), e.Event, e.Actor,
			dash(e.OrderUUID), dash(e.ClientIP), dash(e.RequestID)}
	}
	g.table("ID\tAT\tEVENT\tACTOR\tORDER\tCLIENT IP\tREQUEST ID", rows)
	if page.NextCursor != "" {
		fmt.Fprintf(g.out, "next page: --cursor %s\n", page.NextCursor)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
