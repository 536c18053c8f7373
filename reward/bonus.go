package reward

// The new-member bonus is a welcome: paid once to a person, not once to
// each member id, which anyone can make up (a browser that drops its
// cookies is a fresh member on every claim). So besides "the member's first
// redemption", a bonus needs every identity the scan carries to be new to
// bonuses: the device that scans (ScanRequest.Device: the app's device id,
// or a web browser's device cookie) and every alias of the member (a
// phone, a WeChat id, a loyalty card; once sign-in proves one, the person).
// Paying the bonus records it under each of them, and a later first scan
// by another member id that names any of them earns no bonus.
//
// Sign-in and member merges use the same records: BonusPaidTo asks whether
// an identity had a bonus already, and markBonusPaid records one in a
// decision's transaction (a merge that brings a paid identity to a member
// should mark the member's others).

// NoteBonusAlreadyPaid says a first scan earned no new-member bonus
// because its device or person had one before, under another member id.
const NoteBonusAlreadyPaid = "new_member_bonus_already_paid"

// bonusKey is the record that identity was paid a new-member bonus; it
// holds the member id it was paid to.
func bonusKey(identity string) []byte { return append([]byte("nb/"), identity...) }

// deviceIdentity is a device's identity among bonus records: devices and
// member aliases are separate name spaces.
func deviceIdentity(device string) string { return "device:" + device }

// bonusIdentities are the identities a first scan of m with req stands for:
// the device, the member's aliases, and the member itself when its id is a
// proven identity (a person who signed in on a browser that already had a
// member starts a member of that id, see SignIn).
func bonusIdentities(m *Member, req ScanRequest) []string {
	ids := make([]string, 0, 2+len(m.Aliases))
	if req.Device != "" {
		ids = append(ids, deviceIdentity(req.Device))
	}
	if SignedInIdentity(m.ID) {
		ids = append(ids, m.ID)
	}
	return append(ids, m.Aliases...)
}

// bonusPaid reports whether any of ids was paid a bonus before.
func bonusPaid(tx getter, ids []string) (bool, error) {
	for _, id := range ids {
		if _, found, err := tx.Get(bonusKey(id)); err != nil || found {
			return found, err
		}
	}
	return false, nil
}

// markBonusPaid records that member's bonus was paid to ids.
func markBonusPaid(tx Tx, ids []string, member string) {
	for _, id := range ids {
		putJSON(tx, bonusKey(id), member)
	}
}

// BonusPaidTo reports whether identity (a member alias such as
// "tel:+8613812345678", or "device:"+a device id) was paid a new-member
// bonus, and to which member.
func (e *Engine) BonusPaidTo(identity string) (member string, paid bool, err error) {
	found, err := getJSON(e.db, bonusKey(identity), &member)
	return member, found, wrapStore(err)
}
