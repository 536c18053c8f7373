package reward

import (
	"time"
)

// Product is a catalog entry: what a consumer's page shows for a SKU in
// place of the SKU itself. Batches name their product by SKU; a SKU with
// no entry shows as the SKU.
type Product struct {
	SKU         string    `json:"sku"`
	Name        string    `json:"name,omitempty"`
	ImageURL    string    `json:"image_url,omitempty"`
	Spec        string    `json:"spec,omitempty"`
	Description string    `json:"description,omitempty"`
	Updated     time.Time `json:"updated,omitzero"`
}

// ProductChange is a change of a catalog entry: nil fields stay as they
// are (or empty for a new entry), an empty string clears one.
type ProductChange struct {
	Name        *string `json:"name,omitempty"`
	ImageURL    *string `json:"image_url,omitempty"`
	Spec        *string `json:"spec,omitempty"`
	Description *string `json:"description,omitempty"`
}

func productKey(sku string) []byte { return append([]byte("pd/"), sku...) }

var productPrefix = []byte("pd/")

// Bounds of a catalog entry's texts, in characters: a page shows them on
// a phone, and every page stays small.
const (
	maxProductName = 100
	maxProductSpec = 100
	maxProductDesc = 1000
)

func checkSKU(sku string) error {
	return checkPathID("sku", sku, "sku %q may not contain \"/\" or be . or ..: it is part of the path /v1/products/{sku}")
}

func (c ProductChange) check() error {
	err := checkTexts("product", true, textField{"name", c.Name, maxProductName}, textField{"spec", c.Spec, maxProductSpec},
		textField{"description", c.Description, maxProductDesc})
	if err != nil {
		return err
	}
	if c.ImageURL != nil && *c.ImageURL != "" {
		if err := checkImageURL("image URL", *c.ImageURL); err != nil {
			return err
		}
	}
	return nil
}

// SetProduct creates or changes the catalog entry of sku.
func (e *Engine) SetProduct(sku string, c ProductChange) (p *Product, created bool, err error) {
	if err := checkSKU(sku); err != nil {
		return nil, false, err
	}
	if err := c.check(); err != nil {
		return nil, false, err
	}
	err = e.update(func(tx Tx) error {
		var cur Product
		found, err := getJSON(tx, productKey(sku), &cur)
		if err != nil {
			return err
		}
		created = !found
		cur.SKU = sku
		applyTexts(textChange{&cur.Name, c.Name}, textChange{&cur.ImageURL, c.ImageURL}, textChange{&cur.Spec, c.Spec},
			textChange{&cur.Description, c.Description})
		cur.Updated = e.now()
		putJSON(tx, productKey(sku), &cur)
		p = &cur
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return p, created, nil
}

// Product returns the catalog entry of sku; not_found when there is none.
func (e *Engine) Product(sku string) (*Product, error) {
	if err := checkSKU(sku); err != nil {
		return nil, err
	}
	p, err := getRecord[Product](e.db, productKey(sku), func() error {
		return Errorf(CodeNotFound, "no product %q in the catalog; add it with yima product set %s --name ... (or PUT /v1/products/{sku})", sku, sku)
	})
	return p, wrapStore(err)
}

// Products lists the catalog by SKU.
func (e *Engine) Products() ([]*Product, error) {
	var out []*Product
	err := scanRecords(e.db, string(productPrefix), stopOnCorrupt, func(_ string, p *Product) { out = append(out, p) })
	if err != nil {
		return nil, wrapStore(err)
	}
	return out, nil
}
