package scan

import "github.com/yima-dev/yima/reward"

// MallAdmin is what the CLI does with the points mall, adjustments and the
// purchase rate, in this process or through a server.
type MallAdmin interface {
	// PutReward applies a reward document; the document names its id.
	PutReward(doc []byte) (*reward.RewardView, error)
	// Rewards lists the catalog, every item with all.
	Rewards(all bool) ([]*reward.RewardView, error)
	Reward(id string) (*reward.RewardView, error)
	// AddVouchers uploads voucher codes for reward id, all or none.
	AddVouchers(id string, codes []string) (*reward.VoucherUpload, error)
}

func (l Local) PutReward(doc []byte) (*reward.RewardView, error) {
	r, err := reward.ParseReward(doc, "")
	if err != nil {
		return nil, err
	}
	return l.Engine.PutReward(r)
}

func (l Local) Rewards(all bool) ([]*reward.RewardView, error) { return l.Engine.Rewards(all) }

func (l Local) Reward(id string) (*reward.RewardView, error) { return l.Engine.RewardByID(id) }

func (l Local) AddVouchers(id string, codes []string) (*reward.VoucherUpload, error) {
	return l.Engine.AddVouchers(id, codes)
}
