package bench

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yima-dev/yima/scan/client"
)

// The load proof of webhooks: a run with Config.WebhookSlow registers one
// endpoint for every event, served by a receiver here that answers each
// delivery only after WebhookSlow. Delivery must never slow scans, so the
// scan rate of such a run stays that of a run without it; the report says
// how many deliveries the receiver took meanwhile.

// WebhookRun is what the slow receiver saw during a run.
type WebhookRun struct {
	// Slow is how long the receiver took to answer each delivery.
	Slow float64 `json:"slow_s"`
	// Received is how many deliveries reached it during the scan phase
	// (and the setup's last moments).
	Received int64 `json:"received"`
}

// slowReceiver is a webhook endpoint on 127.0.0.1 that reads each delivery
// and answers 204 after slow.
type slowReceiver struct {
	srv      *http.Server
	url      string
	slow     time.Duration
	received atomic.Int64
	stop     chan struct{}
	once     sync.Once
}

func startSlowReceiver(slow time.Duration) (*slowReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &slowReceiver{url: "http://" + ln.Addr().String() + "/hook", slow: slow, stop: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *slowReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
	r.received.Add(1)
	t := time.NewTimer(r.slow)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.stop:
	case <-req.Context().Done():
	}
	w.WriteHeader(http.StatusNoContent)
}

// close ends the receiver, answering the delivery it holds at once.
func (r *slowReceiver) close() {
	r.once.Do(func() {
		close(r.stop)
		r.srv.Close()
	})
}

// webhookAdder is a target that can register a webhook endpoint.
type webhookAdder interface {
	addWebhook(url string) error
}

func (t *inProcess) addWebhook(url string) error {
	_, err := t.node.Admin().AddWebhook(url, nil)
	return err
}

// addWebhook on a running server needs it started with
// --webhook-allow-private: the receiver is on 127.0.0.1.
func (r *remoteTarget) addWebhook(url string) error {
	_, err := (&client.Client{URL: r.origin, Token: r.token}).AddWebhook(url, nil)
	return err
}

var errNoWebhooks = errors.New("bench: --webhook-slow needs a yima target (in-process or --target): this one has no webhooks")
