// etcdutl: etcd's etcdutl/ctl.go and main.go, rebuilt from the etcdutl package's commands.
// The command list differs by minor: commands_v35.go, commands_v36.go (3.6 and 3.7), flags_v37.go.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/etcdutl/v3/etcdutl"
)

var rootCmd = &cobra.Command{
	Use:        "etcdutl",
	Short:      "An administrative command line tool for etcd3.",
	SuggestFor: []string{"etcdutl"},
}

func init() {
	cobra.EnablePrefixMatching = true
	rootCmd.PersistentFlags().StringVarP(&etcdutl.OutputFormat, "write-out", "w", "simple", "set the output format (fields, json, protobuf, simple, table)")
	addVersionFlags(rootCmd)
	rootCmd.AddCommand(commands()...)
}

func main() {
	// Make help just show the usage, as etcd's own etcdutl.
	rootCmd.SetHelpTemplate(`{{.UsageString}}`)
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
