// Package migrations embeds the SQL migrations, applied with goose at start
// (STXGATE_MIGRATE=false turns that off) and by `make migrate`.
package migrations

import "embed"

// FS holds every migration, named NNNNN_what.sql.
//
//go:embed *.sql
var FS embed.FS
