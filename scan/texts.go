package scan

import "slices"

// The words of the pages a phone opens without a code: the site's root
// and a landing link that lost its code. They speak the brand's language
// (Options.Language), Chinese unless it says otherwise; all their text is
// here, in one table per language.
var texts = map[string]pageTexts{
	"zh": {
		Lang:          "zh-CN",
		HomeTitle:     "正品查验",
		HomeMessage:   "请用手机相机扫描商品包装上的二维码：查验是否正品，并领取积分和礼品。",
		NoCodeTitle:   "链接里没有防伪码",
		NoCodeMessage: "这个链接缺少商品的防伪码。请重新扫描包装上的二维码；如果仍然打不开，请联系品牌方。",
	},
	"en": {
		Lang:          "en",
		HomeTitle:     "Check your product",
		HomeMessage:   "Scan the QR code on the package with your phone's camera: it tells you whether the product is genuine, and pays its reward.",
		NoCodeTitle:   "This link has no code",
		NoCodeMessage: "This link lacks the product's code. Scan the QR code on the package again; if it still does not open, please contact the brand.",
	},
}

// pageTexts are one language's words.
type pageTexts struct {
	Lang                       string // the pages' lang attribute
	HomeTitle, HomeMessage     string
	NoCodeTitle, NoCodeMessage string
}

// DefaultLanguage is the pages' language when Options.Language is empty.
const DefaultLanguage = "zh"

// Languages lists the languages Options.Language may name.
func Languages() []string {
	var out []string
	for l := range texts {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// words returns the server's language's words.
func (s *Server) words() pageTexts {
	if t, ok := texts[s.opts.Language]; ok {
		return t
	}
	return texts[DefaultLanguage]
}
