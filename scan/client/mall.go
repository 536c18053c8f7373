package client

import (
	"net/url"

	"github.com/yima-dev/yima/reward"
)

// PutReward applies a reward document under the id it names.
func (c *Client) PutReward(doc []byte) (*reward.RewardView, error) {
	return putDocument[reward.RewardView](c, "/v1/rewards", "reward", doc)
}

func (c *Client) Rewards(all bool) ([]*reward.RewardView, error) {
	var v struct {
		Rewards []*reward.RewardView `json:"rewards"`
	}
	path := "/v1/rewards"
	if all {
		path += "?all=true"
	}
	return v.Rewards, c.do("GET", path, nil, &v)
}

func (c *Client) Reward(id string) (*reward.RewardView, error) {
	return call[reward.RewardView](c, "GET", "/v1/rewards/"+url.PathEscape(id), nil)
}

func (c *Client) AddVouchers(id string, codes []string) (*reward.VoucherUpload, error) {
	return call[reward.VoucherUpload](c, "POST", "/v1/rewards/"+url.PathEscape(id)+"/vouchers", map[string][]string{"codes": codes})
}
