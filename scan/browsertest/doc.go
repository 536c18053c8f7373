// Package browsertest drives headless Chromium from Go tests, as a phone
// would open yima's pages: a 390×844 viewport, a language preference,
// its own cookies, and JavaScript off by default (every page must work
// without it). Tests open pages, read their text, fill and submit forms,
// and keep screenshots.
//
// Chromium is Debian's chromium package (scripts/install-test-deps.sh
// installs it). Without it the tests skip, unless YIMA_REQUIRE_BROWSER is
// set, as CI does: then a missing browser fails the test.
package browsertest
