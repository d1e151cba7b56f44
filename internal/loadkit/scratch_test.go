package loadkit_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/internal/testenv"
)

// A run makes its directory, database and Redis keys, a second run of the
// same tool is refused while the first holds the lock, and Remove leaves
// nothing behind.
func TestScratchLocksAndRemovesWhatItMade(t *testing.T) {
	ctx := context.Background()
	dsn, redisURL := testenv.PostgresDSN(t), testenv.RedisURL(t)
	tool := "stxgate-loadkit-test-" + loadkit.RandomHex(4)
	s, err := loadkit.NewScratch(ctx, tool, dsn, redisURL, tool+":")
	if err != nil {
		s.Remove(ctx, t.Logf)
		t.Fatal(err)
	}
	name := "stxgate_loadkit_" + loadkit.RandomHex(4)
	dbDSN, err := s.CreateDatabase(ctx, name)
	if err != nil {
		s.Remove(ctx, t.Logf)
		t.Fatal(err)
	}
	if want, _ := loadkit.WithDatabase(dsn, name); dbDSN != want {
		t.Errorf("DSN %q, want %q", dbDSN, want)
	}
	if err := s.Redis.Set(ctx, s.Prefix+"k", "v", 0).Err(); err != nil {
		t.Error(err)
	}

	second, err := loadkit.NewScratch(ctx, tool, dsn, redisURL, tool+"-2:")
	second.Remove(ctx, t.Errorf)
	if want := "another " + tool + " run holds this PostgreSQL; wait for it to finish"; err == nil || err.Error() != want {
		t.Errorf("second run: %v, want %q", err, want)
	}

	s.Remove(ctx, t.Errorf)
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("directory after Remove: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var dbs int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&dbs); err != nil || dbs != 0 {
		t.Errorf("databases named %s after Remove: %d (%v)", name, dbs, err)
	}
	rdb, _ := testenv.Redis(t)
	if n, err := rdb.Exists(ctx, tool+":k").Result(); err != nil || n != 0 {
		t.Errorf("keys under the prefix after Remove: %d (%v)", n, err)
	}
}
