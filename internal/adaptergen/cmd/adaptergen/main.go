// Command adaptergen writes gen/<dialect>/adapter.go for every Go-generating
// entry of sqlc.yaml (see package internal/adaptergen). Run it from the
// module root after `go tool sqlc generate`, or through `make generate`.
//
//	adaptergen [-config sqlc.yaml] [-check]
//
// With -check it writes nothing and exits 1 when an adapter is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/procreg/procreg/internal/adaptergen"
)

func main() {
	config := flag.String("config", "sqlc.yaml", "the sqlc configuration naming the gen packages")
	check := flag.Bool("check", false, "report stale adapters instead of writing them")
	flag.Parse()
	if err := run(*config, *check); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(config string, check bool) error {
	dialects, err := adaptergen.ReadConfig(config)
	if err != nil {
		return err
	}
	root := filepath.Dir(config)
	if !check {
		return adaptergen.Write(root, dialects)
	}
	stale, err := adaptergen.Stale(root, dialects)
	if err != nil {
		return err
	}
	if len(stale) > 0 {
		return fmt.Errorf("adaptergen: stale %v: run 'make generate' and commit the result", stale)
	}
	return nil
}
