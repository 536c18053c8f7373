package reward

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
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
	if err := checkID("sku", sku, true); err != nil {
		return err
	}
	if strings.Contains(sku, "/") || sku == "." || sku == ".." {
		return Errorf(CodeInvalidRequest, "sku %q may not contain \"/\" or be . or ..: it is part of the path /v1/products/{sku}", sku)
	}
	return nil
}

func (c ProductChange) check() error {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"name", c.Name, maxProductName}, {"spec", c.Spec, maxProductSpec}, {"description", c.Description, maxProductDesc}} {
		if f.v == nil {
			continue
		}
		if !utf8.ValidString(*f.v) || utf8.RuneCountInString(*f.v) > f.max {
			return Errorf(CodeInvalidRequest, "product %s: at most %d characters of UTF-8", f.name, f.max)
		}
		for _, r := range *f.v {
			if r < 0x20 && r != '\n' || r == 0x7f {
				return Errorf(CodeInvalidRequest, "product %s contains a control character", f.name)
			}
		}
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
		for _, f := range []struct {
			to   *string
			from *string
		}{{&cur.Name, c.Name}, {&cur.ImageURL, c.ImageURL}, {&cur.Spec, c.Spec}, {&cur.Description, c.Description}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
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
	var derr error
	err := e.db.Scan(productPrefix, nil, func(_, v []byte) bool {
		var p Product
		if derr = json.Unmarshal(v, &p); derr != nil {
			return false
		}
		out = append(out, &p)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, wrapStore(err)
	}
	return out, nil
}
