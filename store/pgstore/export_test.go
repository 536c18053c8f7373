package pgstore

import "context"

// DemoteConnsForTest makes the sessions of db's idle pooled connections
// read-only, as a client finds a primary that was demoted to a standby
// (or set read-only by the failover tool) under connections it holds:
// every write on them fails with SQLSTATE 25006.
func DemoteConnsForTest(db *DB) error {
	ctx := context.Background()
	for _, pc := range db.pool.AcquireAllIdle(ctx) {
		_, err := pc.Exec(ctx, "SET SESSION default_transaction_read_only = on")
		pc.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// QueuedForTest returns how many decisions wait in lane's queue.
func QueuedForTest(db *DB, lane int) int { return len(db.lanes[lane].ops) }
