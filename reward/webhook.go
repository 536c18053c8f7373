package reward

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	json "github.com/segmentio/encoding/json"
)

// Webhook endpoints are records like any other: what an operator added,
// and how far delivery has gone (package webhook delivers). The delivery
// state is written by small decisions of its own, never by a scan's.

// CodeWebhookLimit refuses an endpoint past MaxWebhooks.
const CodeWebhookLimit Code = "webhook_limit"

// MaxWebhooks bounds the endpoints: each holds a delivery goroutine and a
// connection.
const MaxWebhooks = 50

// Webhook is an endpoint and its delivery state.
type Webhook struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Types   []string  `json:"types"` // empty: every type
	Created time.Time `json:"created_at"`
	// Secret signs every delivery (HMAC-SHA256); it is shown once, when
	// the endpoint is added, and never listed.
	Secret string `json:"-"`
	// Cursor is the last seq delivered (or skipped by the type filter):
	// delivery goes on after it.
	Cursor    uint64 `json:"cursor"`
	Delivered uint64 `json:"delivered"`
	// Failing is set from a failed delivery until the next success;
	// Attempts counts the failures of the event it is stuck at.
	Failing      bool      `json:"failing"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	Attempts     int       `json:"attempts"`
	LastError    string    `json:"last_error,omitempty"`
	LastStatus   int       `json:"last_status,omitempty"`
	LastAttempt  time.Time `json:"last_attempt_at,omitzero"`
	NextAttempt  time.Time `json:"next_attempt_at,omitzero"`
	// Paused stops delivery: set when retries ran out (Failing stays
	// set), cleared by a resume or a replay.
	Paused   bool      `json:"paused"`
	PausedAt time.Time `json:"paused_at,omitzero"`
	// Gen changes with every operator action, so a delivery goroutine
	// working from an older state knows to start over.
	Gen uint64 `json:"gen"`
}

// stored is the record with its secret, as kept in the store.
type storedWebhook struct {
	Webhook
	Secret string `json:"secret"`
}

var webhookPrefix = []byte("wh/")

func webhookKey(id string) []byte { return append(slices.Clip(webhookPrefix), id...) }

// loadWebhook reads a webhook with its secret, or answers not_found.
func loadWebhook(tx getter, id string) (*Webhook, error) {
	s, err := getRecord[storedWebhook](tx, webhookKey(id), func() error {
		return Errorf(CodeNotFound, "no webhook %q; yima webhook list shows them", id)
	})
	if err != nil {
		return nil, err
	}
	s.Webhook.Secret = s.Secret
	return &s.Webhook, nil
}

func putWebhook(tx Tx, w *Webhook) {
	putJSON(tx, webhookKey(w.ID), storedWebhook{Webhook: *w, Secret: w.Secret})
}

// CheckWebhookURL holds an endpoint's URL to http(s) with a host. Where
// the host may point is checked when delivery connects (package webhook's
// guard against server-side request forgery).
func CheckWebhookURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, Errorf(CodeInvalidRequest, "url %q: give an http:// or https:// URL with a host", raw)
	}
	if u.User != nil {
		return nil, Errorf(CodeInvalidRequest, "url %q: credentials in a URL are refused; deliveries are signed instead", raw)
	}
	if len(raw) > 2048 {
		return nil, Errorf(CodeInvalidRequest, "url: longer than 2048 bytes")
	}
	return u, nil
}

// AddWebhook adds an endpoint for the given event types (none: all), from
// the feed's current head onwards, and returns it with its secret.
func (e *Engine) AddWebhook(rawURL string, types []string) (*Webhook, error) {
	if _, err := CheckWebhookURL(rawURL); err != nil {
		return nil, err
	}
	q := FeedQuery{Types: types, Limit: 1}
	if err := CheckFeedQuery(&q); err != nil {
		return nil, err
	}
	head, err := e.feedHeadSeq()
	if err != nil {
		return nil, err
	}
	var id [8]byte
	var secret [24]byte
	rand.Read(id[:])
	rand.Read(secret[:])
	w := &Webhook{ID: "wh_" + hex.EncodeToString(id[:]), URL: rawURL, Types: slices.Clone(types), Secret: "whsec_" + hex.EncodeToString(secret[:]), Cursor: head, Gen: 1}
	if w.Types == nil {
		w.Types = []string{}
	}
	// Counted before the decision, which reads only through its Tx: two
	// adds at once may pass the bound by one, which costs nothing.
	n := 0
	if err := e.db.Scan(webhookPrefix, nil, func(_, _ []byte) bool { n++; return true }); err != nil {
		return nil, wrapStore(err)
	}
	if n >= MaxWebhooks {
		return nil, Errorf(CodeWebhookLimit, "%d webhooks exist, the most a server delivers to; remove one first", n)
	}
	err = e.update(func(tx Tx) error {
		w.Created = e.now()
		putWebhook(tx, w)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Webhooks lists the endpoints, secrets left out.
func (e *Engine) Webhooks() ([]Webhook, error) {
	out := []Webhook{}
	var bad error
	err := e.db.Scan(webhookPrefix, nil, func(_, v []byte) bool {
		var w Webhook
		if bad = json.Unmarshal(v, &w); bad != nil {
			return false
		}
		out = append(out, w)
		return true
	})
	err = firstErr(err, bad)
	return out, wrapStore(err)
}

// WebhookForDelivery returns an endpoint with its secret, for the
// delivery goroutine only.
func (e *Engine) WebhookForDelivery(id string) (*Webhook, error) {
	w, err := loadWebhook(e.db, id)
	return w, wrapStore(err)
}

// Webhook returns an endpoint, its secret left out.
func (e *Engine) Webhook(id string) (*Webhook, error) {
	w, err := e.WebhookForDelivery(id)
	if w != nil {
		w.Secret = ""
	}
	return w, err
}

// DeleteWebhook removes an endpoint; delivery to it stops.
func (e *Engine) DeleteWebhook(id string) error {
	return e.update(func(tx Tx) error {
		if _, err := loadWebhook(tx, id); err != nil {
			return err
		}
		tx.Delete(webhookKey(id))
		return nil
	})
}

// ReplayWebhook restarts delivery to an endpoint from event from (the
// next delivered has seq ≥ from), and resumes it if it was paused.
func (e *Engine) ReplayWebhook(id string, from uint64) (*Webhook, error) {
	if from == 0 {
		return nil, Errorf(CodeInvalidRequest, "from: give the seq of the first event to deliver again (1 or more)")
	}
	first, head, err := e.FeedBounds()
	if err != nil {
		return nil, err
	}
	if from < first && head >= first {
		return nil, &Error{Code: CodeEventsCompacted, Message: fmt.Sprintf("events before %d were compacted away; replay from %d or later", first, first), Details: map[string]any{"first_seq": first}}
	}
	return e.changeWebhook(id, func(w *Webhook) { w.Cursor = from - 1 })
}

// ResumeWebhook resumes a paused endpoint where it stopped.
func (e *Engine) ResumeWebhook(id string) (*Webhook, error) {
	return e.changeWebhook(id, func(*Webhook) {})
}

func (e *Engine) changeWebhook(id string, change func(*Webhook)) (*Webhook, error) {
	var out *Webhook
	err := e.update(func(tx Tx) error {
		w, err := loadWebhook(tx, id)
		if err != nil {
			return err
		}
		change(w)
		w.Paused, w.PausedAt = false, time.Time{}
		w.Failing, w.FailingSince, w.Attempts, w.NextAttempt = false, time.Time{}, 0, time.Time{}
		w.Gen++
		putWebhook(tx, w)
		out = w
		return nil
	})
	if out != nil {
		out.Secret = ""
	}
	return out, err
}

// WebhookDelivered records that the endpoint has every event up to seq
// (delivered counts the ones sent). A change by an operator since gen
// wins: the delivery goroutine then starts over.
func (e *Engine) WebhookDelivered(id string, gen, seq, delivered uint64) error {
	return e.update(func(tx Tx) error {
		w, err := loadWebhook(tx, id)
		if err != nil || w.Gen != gen || seq <= w.Cursor {
			return err
		}
		w.Cursor = seq
		w.Delivered += delivered
		if delivered > 0 {
			w.Failing, w.FailingSince, w.Attempts, w.LastError, w.LastStatus, w.NextAttempt = false, time.Time{}, 0, "", 0, time.Time{}
		}
		putWebhook(tx, w)
		return nil
	})
}

// WebhookFailed records a failed delivery and when to try again; pause
// stops delivery (retries ran out). It returns the state written.
func (e *Engine) WebhookFailed(id string, gen uint64, at time.Time, status int, why string, next time.Time, pause bool) error {
	return e.update(func(tx Tx) error {
		w, err := loadWebhook(tx, id)
		if err != nil || w.Gen != gen {
			return err
		}
		if !w.Failing {
			w.Failing, w.FailingSince = true, at
		}
		w.Attempts++
		w.LastAttempt, w.LastStatus, w.LastError, w.NextAttempt = at, status, truncate(why, 300), next
		if pause {
			w.Paused, w.PausedAt, w.NextAttempt = true, at, time.Time{}
		}
		putWebhook(tx, w)
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
