package reward

import (
	"strings"
	"unicode/utf8"
)

// The free texts a brand gives its catalog and its stores (names,
// addresses, specs): a change names the ones it sets, each checked the
// same way and copied over the record's. And the ids that name a record
// in a URL path (an order, a product, a store).

// textField is a text a change may set: nil leaves it as it is.
type textField struct {
	name string
	v    *string
	max  int
}

// checkTexts refuses a text of a record of kind (product, store) that is
// not UTF-8, is longer than its max in characters, or holds a control
// character; newlines are allowed where lines says so.
func checkTexts(kind string, lines bool, fields ...textField) error {
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		if !utf8.ValidString(*f.v) || utf8.RuneCountInString(*f.v) > f.max {
			return Errorf(CodeInvalidRequest, "%s %s: at most %d characters of UTF-8", kind, f.name, f.max)
		}
		for _, r := range *f.v {
			if r < 0x20 && !(lines && r == '\n') || r == 0x7f {
				return Errorf(CodeInvalidRequest, "%s %s contains a control character", kind, f.name)
			}
		}
	}
	return nil
}

// textChange is a new value for the text at to; a nil from changes nothing.
type textChange struct{ to, from *string }

// applyTexts copies each change's new value over its text.
func applyTexts(changes ...textChange) {
	for _, c := range changes {
		if c.from != nil {
			*c.to = *c.from
		}
	}
}

// checkPathID checks an id that is one segment of a URL path: a valid id
// that holds no "/" and is not "." or "..", refused otherwise with refusal
// (a format of the id).
func checkPathID(field, id, refusal string) error {
	if err := checkID(field, id, true); err != nil {
		return err
	}
	if strings.Contains(id, "/") || id == "." || id == ".." {
		return Errorf(CodeInvalidRequest, refusal, id)
	}
	return nil
}
