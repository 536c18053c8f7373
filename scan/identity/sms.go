package identity

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Sender delivers a one-time code to a phone. Send returns once the
// gateway accepted the message, or with why it did not.
type Sender interface {
	Send(ctx context.Context, phone, code string) error
}

// LogSender writes codes to the log instead of sending them: for
// development and tests, where the person signing in reads the server's
// log. Never use it where consumers sign in.
type LogSender struct{ Log *slog.Logger }

// Send logs the code.
func (s LogSender) Send(_ context.Context, phone, code string) error {
	s.Log.Warn("sms sender is log: one-time code not sent, read it here", "phone", phone, "code", code)
	return nil
}

// HTTPSender posts each code to the brand's SMS gateway as JSON
// {"phone","code","ttl_seconds","sent_at"}, with the header
// X-Yima-Signature: sha256=<hex HMAC-SHA256 of the body under Key>, so the
// gateway can refuse messages that did not come from yima; sent_at (Unix
// seconds) lets it refuse old replays. Any 2xx answer is a delivery.
type HTTPSender struct {
	URL string
	Key []byte
	// Client defaults to one with a 10 s timeout.
	Client *http.Client
	// Now defaults to time.Now.
	Now func() time.Time
}

// SignatureHeader carries an HTTPSender body's HMAC.
const SignatureHeader = "X-Yima-Signature"

// ErrSend is wrapped by every failure to deliver a code.
var ErrSend = errors.New("identity: the SMS gateway did not take the code")

// SMSMessage is the body an HTTPSender posts.
type SMSMessage struct {
	Phone string `json:"phone"`
	Code  string `json:"code"`
	TTL   int    `json:"ttl_seconds"`
	Sent  int64  `json:"sent_at"`
}

// Sign is the signature header's value for body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under key: what a
// gateway runs on each message.
func Verify(key, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(key, body)))
}

// Send posts the code.
func (s HTTPSender) Send(ctx context.Context, phone, code string) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	body, err := json.Marshal(SMSMessage{Phone: phone, Code: code, TTL: 300, Sent: now().Unix()})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSend, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(s.Key, body))
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSend, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%w: it answered %s", ErrSend, strconv.Itoa(resp.StatusCode))
	}
	return nil
}
