//go:build etcd35

package main

import (
	"github.com/spf13/cobra"
	"go.etcd.io/etcd/etcdutl/v3/etcdutl"
)

// etcdutl/ctl.go at v3.5.x.
func commands() []*cobra.Command {
	return []*cobra.Command{
		etcdutl.NewBackupCommand(),
		etcdutl.NewDefragCommand(),
		etcdutl.NewSnapshotCommand(),
		etcdutl.NewVersionCommand(),
		etcdutl.NewCheckCommand(),
	}
}

func addVersionFlags(*cobra.Command) {}
