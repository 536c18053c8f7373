package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newProductCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{Use: "product", Short: "The product catalog: what a code's page shows for a SKU (name, picture, spec, description)"}, g, newProductSetCommand, newProductShowCommand, newProductListCommand)
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

func newProductSetCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &productSetOptions{}
	return leaf(&cobra.Command{
		Use:     "set SKU [--name NAME] [--image-url URL] [--spec SPEC] [--description TEXT]",
		Short:   "Create or change a product's entry (flags not given stay as they are)",
		Example: "  yima product set SKU-MILK-900 --name 有机全脂奶粉 --image-url https://cdn.yourbrand.cn/milk-900.jpg --spec 900g/罐",
		Args:    cobra.ExactArgs(1),
	}, o, func(cmd *cobra.Command, args []string) error { return productSetFunc(cmd, g, r, o, args[0]) })
}

// productSetFunc changes the fields whose flags were given.
func productSetFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *productSetOptions, sku string) error {
	var c reward.ProductChange
	fs := cmd.Flags()
	setIfChanged(fs, "name", &o.name, &c.Name)
	setIfChanged(fs, "image-url", &o.image, &c.ImageURL)
	setIfChanged(fs, "spec", &o.spec, &c.Spec)
	setIfChanged(fs, "description", &o.desc, &c.Description)
	if c == (reward.ProductChange{}) {
		return usagef("give at least one of --name, --image-url, --spec, --description")
	}
	return printResult(cmd, g, r, func(a scan.Admin) (*reward.Product, error) { return a.SetProduct(sku, c) })
}

func newProductShowCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	return resultCommand(&cobra.Command{
		Use: "show SKU", Short: "Print a product's entry as JSON",
		Args: cobra.ExactArgs(1),
	}, g, r, func(a scan.Admin, args []string) (*reward.Product, error) { return a.Product(args[0]) })
}

func newProductListCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	return resultCommand(&cobra.Command{
		Use: "list", Short: "Print the catalog as JSON",
		Args: cobra.NoArgs,
	}, g, r, func(a scan.Admin, _ []string) (map[string]any, error) {
		ps, err := a.Products()
		if ps == nil {
			ps = []*reward.Product{}
		}
		return map[string]any{"products": ps}, err
	})
}
