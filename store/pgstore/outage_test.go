package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// logBuffer is a log the store and the test share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOutageWaitedOut stops the database for several times RetryFor: the
// store never fails closed. A decision sent as the database stops waits
// RetryFor and is refused as busy, having written nothing; later ones are
// refused at once, untried; reads too; Busy says so all along. Once the
// database is back the store serves again by itself, a refused decision
// can be made afresh, and the outage is logged as it began and ended, not
// once per refusal.
func TestOutageWaitedOut(t *testing.T) {
	pg := pgtest.StartStoppable(t)
	var logs logBuffer
	const retryFor = 2 * time.Second
	failed := make(chan error, 1)
	db, err := pgstore.Open(pg.DSN(), &pgstore.Options{RetryFor: retryFor, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		OnFail: func(err error) { failed <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(k string) error {
		return db.Update(func(tx store.Tx) error {
			if _, found, err := tx.Get([]byte(k)); err != nil || found {
				return fmt.Errorf("%s: found %v, %v", k, found, err)
			}
			tx.Put([]byte(k), []byte("v"))
			tx.Add([]byte("n"), 1)
			return nil
		})
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	start := time.Now()
	if err := put("first"); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("a decision as the database stops: %v, want ErrBusy", err)
	}
	if d := time.Since(start); d < retryFor-100*time.Millisecond || d > retryFor+3*time.Second {
		t.Errorf("the first decision was refused after %s; want about RetryFor (%s)", d, retryFor)
	}
	deadline := time.Now().Add(5 * retryFor)
	refused := 0
	for time.Now().Before(deadline) {
		t0 := time.Now()
		err := put(fmt.Sprintf("k%d", refused))
		if !errors.Is(err, store.ErrBusy) {
			t.Fatalf("a decision during the outage: %v, want ErrBusy", err)
		}
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("a decision long into the outage was refused after %s, not at once", d)
		}
		if _, _, err := db.Get([]byte("before")); !errors.Is(err, store.ErrBusy) {
			t.Errorf("a read during the outage: %v, want ErrBusy", err)
		}
		if err := db.Busy(); !errors.Is(err, store.ErrBusy) {
			t.Errorf("Busy during the outage: %v", err)
		}
		if err := db.Err(); err != nil {
			t.Fatalf("the store failed closed during the outage: %v", err)
		}
		refused++
		time.Sleep(100 * time.Millisecond)
	}
	pg.Start()
	for wait := time.Now().Add(30 * time.Second); db.Busy() != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("the store still busy 30s after the database came back:\n%s", logs.String())
		}
	}
	if err := put("first"); err != nil {
		t.Fatalf("the decision refused as busy, made again after the outage: %v", err)
	}
	for i := range refused {
		if _, found, err := db.Get(fmt.Appendf(nil, "k%d", i)); err != nil || found {
			t.Errorf("k%d, refused as busy, was written: %v, %v", i, found, err)
		}
	}
	v, _, err := db.Get([]byte("n"))
	if n, _ := store.Counter(v); err != nil || n != 2 {
		t.Errorf("the counter is %d (%v), want 2: only the two decisions answered nil added", n, err)
	}
	select {
	case err := <-failed:
		t.Errorf("OnFail was called: %v", err)
	default:
	}
	log := logs.String()
	if n := strings.Count(log, "the database does not answer"); n != 1 {
		t.Errorf("the outage's start was logged %d times, want once:\n%s", n, log)
	}
	if !strings.Contains(log, "the database answers again") {
		t.Errorf("the outage's end was not logged:\n%s", log)
	}
	if n := strings.Count(log, "\n"); n > 10 {
		t.Errorf("%d log lines for one outage and %d refusals; want a few:\n%s", n, refused, log)
	}
}

// TestCommitEndedWhileWaitingForStandby: when the primary ends a session
// whose COMMIT waits for the synchronous standby (a fast shutdown at a
// failover, an operator's pg_terminate_backend), the transaction has
// already committed locally, and the server closes the connection without
// an answer. The store must resolve the outcome by the commit id, not run
// the decisions again, which would make them twice. (The group adds
// blindly, so its COMMIT goes alone, after the writes.)
func TestCommitEndedWhileWaitingForStandby(t *testing.T) {
	pg := pgtest.StartStoppable(t)
	// Commits wait for a standby that never comes. The setting is in
	// before the store opens, since a session already open may read a
	// reload late.
	pgtest.Exec(t, pg.DSN(), "ALTER SYSTEM SET synchronous_standby_names = 'absent'")
	pgtest.Exec(t, pg.DSN(), "SELECT pg_reload_conf()")
	waitForSetting(t, pg.DSN(), "synchronous_standby_names", "absent")
	var logs logBuffer
	db, err := pgstore.Open(pg.DSN(), &pgstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	incr := increment(true)
	// The first commit that waits is ended, then commits go through.
	ended := make(chan error, 1)
	go func() { ended <- endSessionWaitingForStandby(pg.DSN()) }()
	if err := db.Update(incr); err != nil {
		t.Fatalf("the decision whose session ended after its local commit: %v", err)
	}
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	if err := db.Update(incr); err != nil {
		t.Fatalf("the decision after: %v", err)
	}
	v, _, err := db.Get([]byte("n"))
	if n, _ := store.Counter(v); err != nil || n != 2 {
		t.Errorf("n reads %d after two acknowledged decisions (%v): a decision was made twice or lost", n, err)
	}
	if !strings.Contains(logs.String(), "its answers stand") {
		t.Errorf("the store did not resolve the ended commit as committed; log:\n%s", logs.String())
	}
}

// waitForSetting waits until new sessions see a server setting.
func waitForSetting(t *testing.T, dsn, name, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&got)
		conn.Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endSessionWaitingForStandby waits until a session waits for the
// synchronous standby, ends it, and lets commits through again, once the
// session has exited: a session released from the wait before it sees
// its termination (the standby setting reset first) answers its COMMIT
// before it ends, and the commit is no longer one ended unanswered.
func endSessionWaitingForStandby(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for {
		var pid int
		err := conn.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' LIMIT 1").Scan(&pid)
		if err == nil {
			// With a timeout pg_terminate_backend waits until the
			// session has exited.
			var ended bool
			if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1, 60000)", pid).Scan(&ended); err != nil {
				return err
			}
			if !ended {
				return fmt.Errorf("the session waiting for the standby (pid %d) did not exit within a minute", pid)
			}
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := conn.Exec(ctx, "ALTER SYSTEM RESET synchronous_standby_names"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "SELECT pg_reload_conf()")
	return err
}
