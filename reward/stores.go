package reward

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// Store is one of the brand's stores: where its guides (导购) work, and
// what the statistics and a store manager see guides by. Guides name
// their store by ID.
type Store struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Region  string `json:"region,omitempty"`
	Address string `json:"address,omitempty"`
	// Code is the brand's own number for the store (its ERP's, its
	// payroll's), shown beside the id in listings and payroll files.
	Code string `json:"code,omitempty"`
	// Managers are the sign-in identities (tel:+86...) of the store's
	// managers (Manages, ManagedStores): what a managers' page checks a
	// signed-in person against.
	Managers []string  `json:"managers,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated,omitzero"`
}

// StoreChange is a change of a store record: nil fields stay as they are,
// an empty string clears one (a new store needs a name).
type StoreChange struct {
	Name    *string `json:"name,omitempty"`
	Region  *string `json:"region,omitempty"`
	Address *string `json:"address,omitempty"`
	Code    *string `json:"code,omitempty"`
	// Managers replaces the managers: phone numbers (13812345678,
	// +8613812345678) or sign-in identities (tel:..., wx:...).
	Managers *[]string `json:"managers,omitempty"`
}

// Codes of store operations.
const (
	// CodeUnknownStore refuses an enrolment or a store QR naming a store
	// that has no record.
	CodeUnknownStore Code = "unknown_store"
)

// storePrefix holds store records by id. ("st/" is the statistics'.)
var storePrefix = []byte("stores/")

func storeKey(id string) []byte { return append(append([]byte(nil), storePrefix...), id...) }

// Bounds of a store's texts, in characters: pages show them on a phone
// and payroll files in a cell.
const (
	maxStoreName    = 100
	maxStoreAddress = 200
	maxStoreCode    = 64
)

// maxManagers bounds a store's managers.
const maxManagers = 20

// managerIdentities normalizes managers: a phone number becomes its
// tel: identity; duplicates go.
func managerIdentities(in []string) ([]string, error) {
	if len(in) > maxManagers {
		return nil, Errorf(CodeInvalidRequest, "a store has at most %d managers", maxManagers)
	}
	out := []string{}
	for _, m := range in {
		m = strings.TrimSpace(m)
		if !SignedInIdentity(m) {
			p, err := NormalizePhone(m)
			if err != nil {
				return nil, Errorf(CodeInvalidRequest, "manager %q is neither a phone number nor a sign-in identity (tel:, wx:, wxu:)", m)
			}
			m = PrefixPhone + p
		}
		if err := checkID("alias", m, true); err != nil {
			return nil, err
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func managerKey(identity, store string) []byte {
	return append(append(append([]byte("smg/"), identity...), 0), store...)
}

func (c StoreChange) check() error {
	err := checkTexts("store", false, textField{"name", c.Name, maxStoreName}, textField{"address", c.Address, maxStoreAddress},
		textField{"code", c.Code, maxStoreCode})
	if err != nil {
		return err
	}
	if c.Region != nil {
		return checkID("region", *c.Region, false)
	}
	return nil
}

// checkStoreID validates a store id: it is part of the path
// /v1/stores/{store} and of the enrolment QR's page.
func checkStoreID(id string) error {
	if err := checkPathID("store", id, "store %q may not contain \"/\" or be . or ..: it is part of the path /v1/stores/{store}"); err != nil {
		return err
	}
	if id == NoValue {
		return Errorf(CodeInvalidRequest, "store %q is taken: the statistics count the sales of no store under it; name the store otherwise", id)
	}
	return nil
}

// PutStore creates or changes the store id; created says which. A new
// store needs a name; a change that changes nothing writes nothing.
func (e *Engine) PutStore(id string, c StoreChange) (s *Store, created bool, err error) {
	if err := checkStoreID(id); err != nil {
		return nil, false, err
	}
	if err := c.check(); err != nil {
		return nil, false, err
	}
	var managers []string
	if c.Managers != nil {
		if managers, err = managerIdentities(*c.Managers); err != nil {
			return nil, false, err
		}
	}
	err = e.update(func(tx Tx) error {
		var cur Store
		found, err := getJSON(tx, storeKey(id), &cur)
		if err != nil {
			return err
		}
		created = !found
		before, _ := json.Marshal(cur)
		if c.Managers != nil {
			for _, m := range cur.Managers {
				tx.Delete(managerKey(m, id))
			}
			cur.Managers = managers
			for _, m := range cur.Managers {
				tx.Put(managerKey(m, id), nil)
			}
			if len(cur.Managers) == 0 {
				cur.Managers = nil
			}
		}
		applyTexts(textChange{&cur.Name, c.Name}, textChange{&cur.Region, c.Region}, textChange{&cur.Address, c.Address},
			textChange{&cur.Code, c.Code})
		if cur.Name == "" {
			return Errorf(CodeInvalidRequest, "a store needs a name (--name, or \"name\" in the body)")
		}
		s = &cur
		if after, _ := json.Marshal(cur); found && string(after) == string(before) {
			return nil
		}
		now := e.now()
		cur.ID = id
		if created {
			cur.Created = now
		} else {
			cur.Updated = now
		}
		putJSON(tx, storeKey(id), &cur)
		return record(tx, FeedStoreChanged, now, &cur)
	})
	if err != nil {
		return nil, false, err
	}
	return s, created, nil
}

// Store returns the store id; not_found when there is none.
func (e *Engine) Store(id string) (*Store, error) {
	if err := checkStoreID(id); err != nil {
		return nil, err
	}
	s, err := getRecord[Store](e.db, storeKey(id), func() error {
		return Errorf(CodeNotFound, "no store %q; yima store list shows the stores, yima store add creates one", id)
	})
	return s, wrapStore(err)
}

// Manages reports whether the person signed in as identity manages
// store.
func (e *Engine) Manages(identity, store string) (bool, error) {
	if checkID("alias", identity, true) != nil || checkStoreID(store) != nil {
		return false, nil
	}
	_, found, err := e.db.Get(managerKey(identity, store))
	return found, wrapStore(err)
}

// ManagedStores lists the ids of the stores the person signed in as
// identity manages, at most MaxPage.
func (e *Engine) ManagedStores(identity string) ([]string, error) {
	if err := checkID("alias", identity, true); err != nil {
		return nil, err
	}
	prefix := managerKey(identity, "")
	out := []string{}
	err := e.db.Scan(prefix, nil, func(k, _ []byte) bool {
		out = append(out, string(k[len(prefix):]))
		return len(out) < MaxPage
	})
	return out, wrapStore(err)
}

// StoreName is how pages name the store id: its record's name, or for a
// guide's store from before stores were records, the text it named.
func (e *Engine) StoreName(id string) string {
	if s, err := loadStore(e.db, id); err == nil && s != nil {
		return s.Name
	}
	return id
}

// loadStore reads a store record; nil when there is none.
func loadStore(r getter, id string) (*Store, error) {
	return getRecord[Store](r, storeKey(id), nil)
}

// StorePage returns up to limit stores in id order after the store id
// after (empty: from the first), and the cursor of the next page.
func (e *Engine) StorePage(after string, limit int) ([]*Store, string, error) {
	if err := checkID("after", after, false); err != nil {
		return nil, "", err
	}
	start := storePrefix
	if after != "" {
		// The least key after the store's: ids never hold 0x00.
		start = append(storeKey(after), 0)
	}
	out := []*Store{}
	next, err := scanPage(e.db, storePrefix, start, pageSize(limit), func(_, v []byte) (string, bool, error) {
		var s Store
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, err
		}
		out = append(out, &s)
		return s.ID, true, nil
	})
	return out, next, err
}

// auditStores checks the store records: each decodes, is filed under its
// own id and has a name; the managers' grants are exactly the managers the
// records name (a grant is what lets a signed-in person manage a store);
// then the enrolments and the guides' indexes.
func auditStores(db Scanner, a *AuditReport, guides map[string]*Guide) error {
	stores := map[string]bool{}
	named := map[string]bool{} // identity 0 store, as the records name them
	err := db.Scan(storePrefix, nil, func(k, v []byte) bool {
		id := string(k[len(storePrefix):])
		var s Store
		switch err := json.Unmarshal(v, &s); {
		case err != nil:
			a.violate("store %q is corrupt: %v", id, err)
		case s.ID != id:
			a.violate("store %q holds the record of store %q", id, s.ID)
		case s.Name == "":
			a.violate("store %q has no name", id)
		}
		for _, m := range s.Managers {
			named[string(managerKey(m, id))] = true
		}
		stores[id] = true
		a.Stores++
		return true
	})
	if err != nil {
		return err
	}
	granted := map[string]bool{}
	err = db.Scan([]byte("smg/"), nil, func(k, _ []byte) bool {
		granted[string(k)] = true
		if !named[string(k)] {
			ident, store, _ := strings.Cut(string(k[len("smg/"):]), "\x00")
			a.violate("a manager's grant grants %q store %s, whose record does not name them", ident, store)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(named)) {
		if !granted[k] {
			ident, store, _ := strings.Cut(k[len("smg/"):], "\x00")
			a.violate("store %s names manager %q, who has no grant", store, ident)
		}
	}
	return auditEnrolments(db, a, guides, stores)
}
