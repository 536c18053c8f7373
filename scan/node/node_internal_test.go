package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yima-dev/yima/scan"
)

// A storage failure the store reports while the node is still being put
// together is not lost: Run stops with it, so that a supervisor restarts
// the node and the log is replayed.
func TestFailureBeforeRunStopsTheNode(t *testing.T) {
	n, err := Open(Options{Dir: t.TempDir(), Server: scan.Options{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	disk := errors.New("disk went away")
	n.storageFailed(disk)
	n.storageFailed(errors.New("a second failure")) // never blocks the store
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, disk) {
			t.Fatalf("Run = %v, want the storage failure %v", err, disk)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run kept serving after a storage failure")
	}
}
