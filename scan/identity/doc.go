// Package identity reaches the outside services that prove who a consumer
// is: a Sender delivers one-time SMS codes (LogSender writes them to the
// server's log for development, HTTPSender posts them, signed, to the
// brand's SMS gateway), and WeChat runs the web sign-in of WeChat's
// official accounts (OAuth2, snsapi_base or snsapi_userinfo).
//
// It decides nothing: which member an identity is, how codes are limited
// and how browsers merge are reward's rules; the pages that use these are
// package scan's. It makes outbound HTTP calls with net/http and a
// timeout, and never logs a secret (the app secret, an access token); a
// LogSender logs the code it is given, which is its purpose.
//
// Package fakewechat answers WeChat's documented endpoints on a local
// address, for tests and for trying sign-in without an official account.
package identity
