package memory_test

import (
	"testing"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/memory"
	"github.com/stxgate/stxgate/internal/store/storetest"
)

func TestKeyStoreConformance(t *testing.T) {
	storetest.RunKeyStore(t, func(t *testing.T) apikey.Store { return memory.New() })
}

func TestOrderStoreConformance(t *testing.T) {
	storetest.RunOrderStore(t, func(t *testing.T) order.Store { return memory.NewOrders() })
}

func TestAuditedChanges(t *testing.T) {
	storetest.RunAudited(t, func(t *testing.T) storetest.Stores {
		keys, orders, trail := memory.New(), memory.NewOrders(), audit.NewMemory()
		keys.AuditTo(trail)
		orders.AuditTo(trail)
		return storetest.Stores{Keys: keys, Orders: orders, Trail: trail}
	})
}

func TestEventLogConformance(t *testing.T) {
	storetest.RunEventLog(t, func(t *testing.T) storetest.EventStore { return memory.NewOrders() })
}
