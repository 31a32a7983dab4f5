//go:build etcd36

package main

import "github.com/spf13/cobra"

func addVersionFlags(*cobra.Command) {}
