package reward

import (
	"fmt"
	"slices"
)

// The counter verification policy (核销范围) of a campaign: which stores'
// guides may verify its gifts. A brand whose guides earn a commission on
// each gift keeps another store's guide from verifying (and earning on) a
// gift its own store's guide brought in.
const (
	// CounterAnyStore: any guide of any store verifies (the default).
	CounterAnyStore = "any_store"
	// CounterCampaignRegions: only guides whose store's region is one of
	// the campaign's Regions.
	CounterCampaignRegions = "campaign_regions"
	// CounterMemberStore: only guides of the store of the guide the
	// consumer is bound to. A consumer bound to no guide has no store of
	// their own, and any store verifies their gift.
	CounterMemberStore = "member_guide_store"
)

// CounterPolicies lists the policies a campaign may name.
var CounterPolicies = []string{CounterAnyStore, CounterCampaignRegions, CounterMemberStore}

// CodeWrongStore refuses a verification the campaign's counter policy does
// not allow at the verifying guide's store; nothing is changed.
const CodeWrongStore Code = "wrong_store"

// checkCounter checks the campaign's counter policy fields.
func (c *Campaign) checkCounter() error {
	if c.CounterPolicy != "" && !slices.Contains(CounterPolicies, c.CounterPolicy) {
		return Errorf(CodeInvalidRequest, "campaign %q: counter_policy %q: use one of %v", c.ID, c.CounterPolicy, CounterPolicies)
	}
	for _, r := range c.Regions {
		if err := checkID("regions", r, true); err != nil {
			return err
		}
	}
	if c.CounterPolicy == CounterCampaignRegions && len(c.Regions) == 0 {
		return Errorf(CodeInvalidRequest, "campaign %q: counter_policy %q needs the campaign's \"regions\"", c.ID, c.CounterPolicy)
	}
	return nil
}

// counterAllows refuses guide g verifying coupon c of campaign camp where
// the campaign's counter policy does not allow it, saying which stores
// may.
func counterAllows(tx getter, camp *Campaign, c *Coupon, g *Guide) error {
	switch camp.CounterPolicy {
	case CounterMemberStore:
		owner, err := resolve(tx, c.Member)
		if err != nil {
			return err
		}
		var m Member
		if _, err := getJSON(tx, memberKey(owner), &m); err != nil {
			return err
		}
		if m.Guide == "" {
			return nil
		}
		bound, err := loadGuide(tx, m.Guide)
		if err != nil || bound == nil {
			return err
		}
		if bound.Store == g.Store {
			return nil
		}
		return &Error{Code: CodeWrongStore,
			Message: fmt.Sprintf("this gift is verified only at %q, the store of the consumer's guide; you are at %q", bound.Store, g.Store),
			Details: map[string]any{"counter_policy": camp.CounterPolicy, "store": g.Store, "allowed_store": bound.Store}}
	case CounterCampaignRegions:
		region, err := storeRegion(tx, g.Store)
		if err != nil {
			return err
		}
		if region != "" && slices.Contains(camp.Regions, region) {
			return nil
		}
		where := fmt.Sprintf("in region %q", region)
		if region == "" {
			where = "in no region on record"
		}
		return &Error{Code: CodeWrongStore,
			Message: fmt.Sprintf("this gift is verified only at stores in the campaign's regions %v; your store %q is %s", camp.Regions, g.Store, where),
			Details: map[string]any{"counter_policy": camp.CounterPolicy, "store": g.Store, "store_region": region, "regions": camp.Regions}}
	}
	return nil
}

// storeRegion is the region of a guide's store: its store record's, ""
// when the store has no record or the record no region.
func storeRegion(tx getter, store string) (string, error) {
	if checkStoreID(store) != nil {
		// A guide's free-text store that cannot be a record's id.
		return "", nil
	}
	st, err := loadStore(tx, store)
	if err != nil || st == nil {
		return "", err
	}
	return st.Region, nil
}
