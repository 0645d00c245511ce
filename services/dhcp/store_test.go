package dhcp

import (
	"sync"
	"testing"
	"time"
)

// TestGroupCommit queues leases from many goroutines, as a burst of ACKs
// does: each wait returns only once its lease is in the database, a later
// record of an address wins, and clear drops what was queued before it.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	db, err := openLeaseDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := db.enqueue(lease{ip: 0xc0000200 + uint32(i), mac: "02:00:00:00:00:01", expires: exp, state: stateBound})
			db.wait(n)
		}()
	}
	wg.Wait()
	db.wait(db.enqueue(lease{ip: 0xc0000200, mac: "02:00:00:00:00:99", expires: exp, state: stateBound}))
	if err := db.close(); err != nil {
		t.Fatal(err)
	}

	db, err = openLeaseDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	all, err := db.all()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 100 {
		t.Fatalf("%d leases after reopening, want 100", len(all))
	}
	for _, l := range all {
		if l.ip == 0xc0000200 && l.mac != "02:00:00:00:00:99" {
			t.Errorf("192.0.2.0 belongs to %s, want the later record's 02:00:00:00:00:99", l.mac)
		}
	}
	for i := range 10 {
		db.enqueue(lease{ip: 0xc0000300 + uint32(i), mac: "02:00:00:00:00:02", expires: exp, state: stateBound})
	}
	if err := db.clear(); err != nil {
		t.Fatal(err)
	}
	if all, _ := db.all(); len(all) != 0 {
		t.Errorf("%d leases after clear, want none", len(all))
	}
}
