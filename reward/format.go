package reward

import (
	"errors"
	"fmt"
)

// Format is the version of the records this engine reads and writes. A
// change of their shape or keys raises it, together with a migration.
const Format = 1

// formatKey holds the Format of the records in a store.
var formatKey = []byte("meta/format")

// ErrDataFormat is returned by CheckFormat for a store whose records are of
// another Format.
var ErrDataFormat = errors.New("reward: records of another format")

// CheckFormat makes sure the store holds records of this engine's Format
// before anything reads them: an engine that misread another format's
// records could take a redeemed code for a fresh one and pay it twice. A
// store without a marker gets this Format's (every store written before
// markers existed holds format 1); a store marked with another is refused.
func (e *Engine) CheckFormat() error {
	var got int
	err := e.update(func(tx Tx) error {
		found, err := getJSON(tx, formatKey, &got)
		if err != nil {
			return err
		}
		if !found {
			got = Format
			putJSON(tx, formatKey, Format)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if got != Format {
		return fmt.Errorf("%w: the store holds records of format %d and this yima reads format %d; use the yima that wrote them, or migrate them first", ErrDataFormat, got, Format)
	}
	return nil
}
