package reward

// Store managers. A store's manager decides who becomes a guide of the
// store (the requests its enrolment QR brings), shows that QR, and sees
// the store's guides; nothing of any other store, and nothing else. A
// manager is either a person the store's record names (Store.Managers,
// who signs in on their phone: Manages) or holds a manager token, made for
// one store (CreateManagerToken), for a shared counter device or the
// brand's own tools.

// CreateManagerToken makes a token that manages store, which must have a
// record, and returns its secret (shown once).
func (e *Engine) CreateManagerToken(name, store string) (string, error) {
	if store == "" {
		return "", Errorf(CodeInvalidRequest, "a manager token is for one store: name it (--store S, or \"store\" in the body)")
	}
	if err := checkStoreID(store); err != nil {
		return "", err
	}
	if err := checkID("name", name, false); err != nil {
		return "", err
	}
	secret := NewSecret()
	err := e.update(func(tx Tx) error {
		if s, err := loadStore(tx, store); err != nil {
			return err
		} else if s == nil {
			return Errorf(CodeUnknownStore, "no store %q; create it first with yima store add %s --name ...", store, store)
		}
		putToken(tx, secret, Token{Role: RoleManager, Name: name, Subject: store, Created: e.now()})
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}
