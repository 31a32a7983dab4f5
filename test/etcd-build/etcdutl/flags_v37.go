//go:build etcd37

package main

import (
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/etcdutl/v3/etcdutl"
)

// 3.7 adds a persistent --timeout for the db file lock (etcdutl/ctl.go at v3.7.x).
func addVersionFlags(root *cobra.Command) {
	root.PersistentFlags().DurationVar(&etcdutl.FlockTimeout, "timeout", 10*time.Second, "time to wait to obtain a file lock on db file, 0 to block indefinitely")
}
