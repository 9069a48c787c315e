// Command etcd is the etcd server kube-apiserver stores its objects in, built from the
// go.etcd.io/etcd/server/v3 release that the pinned k8s.io/kubernetes requires (../go.mod),
// so the two are the pair Kubernetes tests together.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
