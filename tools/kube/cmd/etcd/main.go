// Command etcd is the upstream etcd server at the version the pinned Kubernetes release
// itself requires, so the API server is tested against the storage it was built for.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
