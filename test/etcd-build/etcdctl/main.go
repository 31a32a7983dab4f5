// etcdctl: the same main as etcd's etcdctl/main.go (v3 API only, as 3.6+).
package main

import (
	"go.etcd.io/etcd/etcdctl/v3/ctlv3"
)

func main() {
	ctlv3.MustStart()
}
