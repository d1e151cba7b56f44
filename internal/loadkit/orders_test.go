package loadkit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/ordersig"
)

func TestCopyOpenOrdersStoresThemOpenAsSigned(t *testing.T) {
	ctx := context.Background()
	db := testenv.MigratedPool(t)
	from := time.Unix(1_800_000_000, 0)
	owner := "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"
	ords := []ordersig.Order{
		loadkit.Order(owner, "6f1c1d9e-0000-4000-8000-000000000001", from, from.Add(time.Hour)),
		loadkit.Order(owner, "6f1c1d9e-0000-4000-8000-000000000002", from, from.Add(time.Hour)),
	}
	err := loadkit.CopyOpenOrders(ctx, db, len(ords), func(i int) (ordersig.Order, string, string) {
		return ords[i], "ABCDEF", "key:k" + strconv.Itoa(i+1)
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, `SELECT uuid, owner, recipient, amount_in::text, target_price::text, direction, signature,
		valid_from, valid_to, status, created_by, attempts FROM orders ORDER BY uuid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var uuid, own, rcpt, amount, price, dir, sig, status, createdBy string
		var vf, vt time.Time
		var attempts int
		if err := rows.Scan(&uuid, &own, &rcpt, &amount, &price, &dir, &sig, &vf, &vt, &status, &createdBy, &attempts); err != nil {
			t.Fatal(err)
		}
		if own != owner || rcpt != owner || amount != "1000000" || price != "0.000123" || dir != "gt" || sig != "abcdef" ||
			!vf.Equal(from) || !vt.Equal(from.Add(time.Hour)) || status != "open" || attempts != 0 {
			t.Errorf("row %s: owner %s recipient %s amount %s price %s direction %s signature %s valid %s..%s status %s attempts %d",
				uuid, own, rcpt, amount, price, dir, sig, vf, vt, status, attempts)
		}
		got = append(got, uuid+" "+createdBy)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != ords[0].UUID+" key:k1" || got[1] != ords[1].UUID+" key:k2" {
		t.Fatalf("rows %q", got)
	}
}
