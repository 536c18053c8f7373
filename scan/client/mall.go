package client

import (
	"bytes"
	"encoding/json"
	"net/url"

	"github.com/yima-dev/yima/reward"
)

// PutReward applies a reward document under the id it names.
func (c *Client) PutReward(doc []byte) (*reward.RewardView, error) {
	var probe struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil || probe.ID == "" {
		return nil, reward.Errorf(reward.CodeInvalidRequest, "the reward document needs an \"id\"")
	}
	resp, err := c.send("PUT", "/v1/rewards/"+url.PathEscape(probe.ID), bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v reward.RewardView
	return &v, json.NewDecoder(resp.Body).Decode(&v)
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
	var v reward.RewardView
	return &v, c.do("GET", "/v1/rewards/"+url.PathEscape(id), nil, &v)
}

func (c *Client) AddVouchers(id string, codes []string) (*reward.VoucherUpload, error) {
	var v reward.VoucherUpload
	return &v, c.do("POST", "/v1/rewards/"+url.PathEscape(id)+"/vouchers", map[string][]string{"codes": codes}, &v)
}
