package reward

// ShareFeedTail makes e number the feed's events from the tail of other,
// an engine over the same store: tests that make an engine per request
// (to tell the requests apart in a store's log) while one engine's
// decisions would run, the engines being one writer among them.
func ShareFeedTail(e, other *Engine) { e.tail = other.tail }
