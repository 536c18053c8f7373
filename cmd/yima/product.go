package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newProductCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{Use: "product", Short: "The product catalog: what a code's page shows for a SKU (name, picture, spec, description)"}, g,
		run(&cobra.Command{
			Use:     "set SKU [--name NAME] [--image-url URL] [--spec SPEC] [--description TEXT]",
			Short:   "Create or change a product's entry (flags not given stay as they are)",
			Example: "  yima product set SKU-MILK-900 --name 有机全脂奶粉 --image-url https://cdn.yourbrand.cn/milk-900.jpg --spec 900g/罐",
			Args:    cobra.ExactArgs(1),
		}, productSetFunc),
		runResult(&cobra.Command{Use: "show SKU", Short: "Print a product's entry as JSON", Args: cobra.ExactArgs(1)},
			func(a scan.Admin, args []string) (*reward.Product, error) { return a.Product(args[0]) }),
		runResult(&cobra.Command{Use: "list", Short: "Print the catalog as JSON", Args: cobra.NoArgs}, listProducts),
	)
}

type productSetOptions struct {
	name, image, spec, desc string
}

func (o *productSetOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.name, "name", "", "the product's name, as consumers' pages show it")
	fs.StringVar(&o.image, "image-url", "", "the product's picture: an https URL of an image, or a path on this site")
	fs.StringVar(&o.spec, "spec", "", "the product's specification, e.g. 900g/罐")
	fs.StringVar(&o.desc, "description", "", "a short description")
}

// productSetFunc changes the fields whose flags were given.
func productSetFunc(cmd *cobra.Command, r *remoteOptions, o *productSetOptions, args []string) error {
	sku := args[0]
	var c reward.ProductChange
	fs := cmd.Flags()
	setIfChanged(fs, "name", &o.name, &c.Name)
	setIfChanged(fs, "image-url", &o.image, &c.ImageURL)
	setIfChanged(fs, "spec", &o.spec, &c.Spec)
	setIfChanged(fs, "description", &o.desc, &c.Description)
	if c == (reward.ProductChange{}) {
		return usagef("give at least one of --name, --image-url, --spec, --description")
	}
	return printResult(cmd, r, func(a scan.Admin) (*reward.Product, error) { return a.SetProduct(sku, c) })
}

// listProducts wraps the catalog in an object, as the HTTP API does.
func listProducts(a scan.Admin, _ []string) (map[string]any, error) {
	ps, err := a.Products()
	return map[string]any{"products": orEmpty(ps)}, err
}
