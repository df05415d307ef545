// Command etcd is a thin wrapper so the etcd server can be built from the Go module proxy
// at an exact version (the upstream module cannot be `go install`ed because of its replaces).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
