// Package rewardtest builds what the reward tests share: an engine over a
// store the test opens, one active batch and its signer, a clock the test
// moves, the small campaign document the rule tests edit, the checks that
// stop a test when a scan, a campaign or the audit is not what the rules
// say, and bursts of concurrent requests (Workers, Race). It is the one
// place these constructors live; tests of other packages that need an
// engine use it too.
//
// It opens no store itself: the caller chooses the backend (the reward
// tests choose by YIMA_TEST_STORE), so the same fixtures run on any backend
// of the store contract.
package rewardtest
