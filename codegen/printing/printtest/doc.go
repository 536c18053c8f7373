// Package printtest reads back what printing drew, for the tests of
// printing and of the CLI that prints: it renders a PDF's pages with
// poppler's pdftoppm and decodes QR symbols with zbar's zbarimg. A test
// whose tools are not installed is skipped, or fails when
// YIMA_REQUIRE_BROWSER is set, as CI sets it after installing them with
// scripts/install-test-deps.sh.
package printtest
